import { Redis, type RedisOptions } from 'ioredis';
import type { RedisOptions as BullMqRedisOptions } from 'bullmq';

/**
 * An ioredis client that counts the commands it writes to the server, the
 * handshake included. A script call counts as one command, as Redis bills it.
 */
export class CountingRedis extends Redis {
  private sentCommands = 0;

  get commandCount(): number {
    return this.sentCommands;
  }

  override sendCommand(...args: Parameters<Redis['sendCommand']>): unknown {
    // Commands issued while the socket is not open are rejected by ioredis
    // without being written, because the offline queue is disabled.
    if (this.status === 'connect' || this.status === 'ready') {
      this.sentCommands += 1;
    }
    return super.sendCommand(...args);
  }
}

/**
 * Options of the short-lived connection that one drain call uses.
 *
 * The handshake is trimmed to what the server needs, because every command
 * counts against a hosted Redis quota. RESP2 avoids HELLO. The ready-check
 * INFO, CLIENT SETINFO and CLIENT MAINT_NOTIFICATIONS that ioredis 6 sends by
 * default are skipped; Redis before 7.2 rejects the last two anyway. AUTH is
 * sent when the URL carries a password and SELECT when it names a database
 * other than 0. TLS follows the `rediss://` scheme.
 *
 * The connection fails fast: no reconnection and no offline queue, so a lost
 * connection ends the call with 503 instead of hanging it. Disconnecting
 * destroys the socket at once instead of waiting up to 2 s (the ioredis
 * default) for the server to close it: the call disconnects only after its
 * last reply, or to abandon a server that stopped answering.
 */
export function drainClientOptions(connectTimeoutMs: number) {
  return {
    lazyConnect: true,
    protocol: 2,
    enableReadyCheck: false,
    disableClientInfo: true,
    maintNotifications: 'disabled',
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: connectTimeoutMs,
    disconnectTimeout: 0,
  } satisfies RedisOptions;
}

export function createDrainClient(url: string, connectTimeoutMs: number): CountingRedis {
  return new CountingRedis(url, drainClientOptions(connectTimeoutMs));
}

/**
 * Connection options of always-on workers. BullMQ requires
 * `maxRetriesPerRequest: null` for them so that a Redis restart delays
 * commands instead of failing them; ioredis reconnects with its default
 * back-off. The ready check stays on, so that commands wait while a restarted
 * Redis loads its data. The client-info commands are skipped as for the drain.
 */
export function workerConnectionOptions(url: string): BullMqRedisOptions {
  return {
    url,
    maxRetriesPerRequest: null,
    disableClientInfo: true,
    maintNotifications: 'disabled',
  } satisfies RedisOptions & BullMqRedisOptions;
}
