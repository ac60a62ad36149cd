import { performance } from 'node:perf_hooks';

import { Redis } from 'ioredis';

import { settlesWithin } from '../src/lifecycle/settles-within';
import { QUEUE_NAMES } from '../src/queues/queue-names';
import type { QueueProcessor } from '../src/workers/queue-processor';
import { QUEUE_PROCESSORS } from '../src/workers/workers.lifecycle';
import { JobEvents } from './support/job-events';
import { TestQueues } from './support/queues';
import { HandlerLog, RecordingHandlersModule } from './support/recording-handlers';
import { RedisServer } from './support/redis-server';
import { createTestApp, type TestApp } from './support/test-app';
import { uniquePrefix } from './support/test-redis';
import { waitUntil } from './support/wait-until';

const SHUTDOWN_GRACE_MS = 1_000;

/**
 * Time that closing may take beyond the grace. Putting jobs back and closing
 * the workers may take 5 s, and ioredis up to 2 s more to drop a connection to
 * a server that stopped responding. A loaded machine gets 2 s of slack.
 */
const CLOSE_MARGIN_MS = 9_000;

jest.setTimeout(60_000);

describe('shutdown of always-on workers while Redis is down', () => {
  let server: RedisServer;
  let prefix: string;
  let testApp: TestApp | undefined;
  let closing: Promise<void> | undefined;

  beforeEach(async () => {
    server = await RedisServer.start();
    prefix = uniquePrefix();
    testApp = undefined;
    closing = undefined;
  });

  afterEach(async () => {
    // A close that hangs ends once Redis responds again, so that no worker outlives the test.
    if (closing !== undefined && !(await settlesWithin(closing, 0))) {
      server.thaw();
      await server.stop();
      await server.restart();
      await closing;
    }
    await server.destroy();
  });

  async function startApp(): Promise<TestApp> {
    testApp = await createTestApp(
      {
        REDIS_URL: server.url,
        QUEUE_KEY_PREFIX: prefix,
        WORKER_INPROCESS: '1',
        WORKER_SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS),
      },
      { handlers: RecordingHandlersModule.forQueues(QUEUE_NAMES) },
    );
    return testApp;
  }

  /** Waits until every worker waits for a job in BZPOPMIN, so that all its connections are ready. */
  async function waitUntilWorkersBlock(): Promise<void> {
    const observer = new Redis(server.url);
    try {
      await waitUntil(
        async () => (await blockedConnections(observer, prefix)) === QUEUE_NAMES.length,
        'every worker is blocked',
      );
    } finally {
      observer.disconnect();
    }
  }

  /** Starts a job that runs until its abort signal fires, and waits until its handler runs. */
  async function startLongJob(app: TestApp): Promise<void> {
    const queues = new TestQueues(server.url, prefix);
    const events = await JobEvents.start(server.url, prefix, 'seed-jobs');
    try {
      const job = await queues.get('seed-jobs').add('long', { workMs: 120_000 });
      await events.waitFor('active', job);
      await app.app.get(HandlerLog).waitForStart((call) => call.jobId === job.id);
    } finally {
      await events.close();
      await queues.close();
    }
  }

  /** Kills Redis and resolves once a worker connection has noticed and tries to reconnect. */
  async function killRedis(app: TestApp): Promise<void> {
    const seedWorker = app.app
      .get<readonly QueueProcessor[]>(QUEUE_PROCESSORS)
      .find((processor) => processor.queue === 'seed-jobs')!.worker;
    const client = await seedWorker.getBackend().client;
    const reconnecting = new Promise<void>((resolve) => client.once('reconnecting', () => resolve()));
    await server.stop();
    await reconnecting;
  }

  /**
   * Closes the application as SIGTERM does and returns how many milliseconds
   * it took, or `undefined` when it did not finish within the grace and the margin.
   */
  async function closeApp(app: TestApp): Promise<number | undefined> {
    const startedAt = performance.now();
    closing = app.close();
    const closedInTime = await settlesWithin(closing, SHUTDOWN_GRACE_MS + CLOSE_MARGIN_MS);
    return closedInTime ? performance.now() - startedAt : undefined;
  }

  it('closes idle workers after Redis was killed', async () => {
    const app = await startApp();
    await waitUntilWorkersBlock();
    await killRedis(app);

    expect(await closeApp(app)).toBeDefined();
  });

  it('closes workers with a running job after Redis was killed', async () => {
    const app = await startApp();
    await startLongJob(app);
    await killRedis(app);

    expect(await closeApp(app)).toBeGreaterThanOrEqual(SHUTDOWN_GRACE_MS);
  });

  it('closes workers with a running job while Redis is frozen', async () => {
    const app = await startApp();
    await startLongJob(app);
    server.freeze();

    expect(await closeApp(app)).toBeGreaterThanOrEqual(SHUTDOWN_GRACE_MS);
  });

  it('closes workers that started while Redis was down', async () => {
    await server.stop();
    const app = await startApp();

    expect(await closeApp(app)).toBeDefined();
  });
});

/** Counts the worker connections under `prefix` that wait in BZPOPMIN. */
async function blockedConnections(client: Redis, prefix: string): Promise<number> {
  const list = String(await client.client('LIST'));
  return list.split('\n').filter((line) => line.includes(`name=${prefix}:`) && line.includes('cmd=bzpopmin')).length;
}
