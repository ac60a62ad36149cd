import { redisUrlDatabase } from '../config/env-parsers';
import { createDrainClient, isMissingDatabaseError } from '../redis/redis-connections';

/** Time allowed for the check. An unreachable Redis only skips it. */
const CHECK_TIMEOUT_MS = 5_000;

/** Thrown at start-up when REDIS_URL names a database that the server does not have. */
export class MissingDatabaseError extends Error {
  constructor(database: number, cause: string) {
    super(
      `REDIS_URL names database ${database}, which this Redis server does not have (${cause}). ` +
        'Name a database below the server\'s "databases" setting, or none for database 0.',
    );
    this.name = MissingDatabaseError.name;
  }
}

/**
 * Checks that the database that `url` names exists, before the workers start.
 * ioredis reports a failed SELECT only as an event and then carries on in
 * database 0, where the workers would consume another backend's jobs. The
 * check costs one connection with AUTH and SELECT, and nothing when the URL
 * names database 0. When Redis cannot be reached, the workers start anyway and
 * wait for it, as they do after a restart.
 */
export async function assertDatabaseExists(url: string): Promise<void> {
  const database = redisUrlDatabase(url);
  if (database === 0) {
    return;
  }
  const client = createDrainClient({ url, cluster: false }, CHECK_TIMEOUT_MS);
  let selectError: Error | undefined;
  client.on('error', (error: Error) => {
    if (isMissingDatabaseError(error)) {
      selectError ??= error;
    }
  });
  try {
    await client.connect();
  } catch {
    return;
  } finally {
    client.disconnect();
  }
  if (selectError !== undefined) {
    throw new MissingDatabaseError(database, selectError.message.replace(/\.$/, ''));
  }
}
