import { once } from 'node:events';

import { Redis } from 'ioredis';
import request from 'supertest';

import { CronMessages, REDIS_UNAVAILABLE_RETRY_AFTER_SECONDS } from '../src/cron/cron.messages';
import type { QueueProcessor } from '../src/workers/queue-processor';
import { QUEUE_PROCESSORS } from '../src/workers/workers.lifecycle';
import { JobEvents } from './support/job-events';
import { TestQueues } from './support/queues';
import { RedisServer } from './support/redis-server';
import { countsBackTo, lowestCounts, openResources, type OpenResources } from './support/steady-state';
import { createTestApp, TEST_TOKEN, type TestApp } from './support/test-app';
import { uniquePrefix } from './support/test-redis';
import { waitUntil } from './support/wait-until';

jest.setTimeout(90_000);

const DRAIN_PATH = '/api/v1/cron/drain-queues';
const MAX_DURATION_MS = 3_000;
const ABORT_GRACE_MS = 1_000;
/** The latest a call may answer: its deadline, the abort grace and 1 s to put jobs back and disconnect. */
const ANSWER_BOUND_MS = MAX_DURATION_MS + ABORT_GRACE_MS + 1_000;

/**
 * Waits until the process has no more timers and sockets than before. The
 * HTTP server that supertest opened for the call closes its sockets shortly
 * after the answer; a timer or connection that the call leaked stays.
 */
async function expectResourcesBack(before: OpenResources): Promise<void> {
  // Generous, because a loaded machine closes sockets late.
  const after = await countsBackTo(openResources, before, 15_000);
  expect(after.timers).toBeLessThanOrEqual(before.timers);
  expect(after.sockets).toBeLessThanOrEqual(before.sockets);
}

describe('drain calls when Redis fails', () => {
  let server: RedisServer;
  let prefix: string;
  let testApp: TestApp;

  beforeAll(async () => {
    server = await RedisServer.start({ persistent: true });
  });

  afterAll(async () => {
    await server.destroy();
  });

  beforeEach(async () => {
    prefix = uniquePrefix();
    testApp = await createTestApp({
      REDIS_URL: server.url,
      QUEUE_KEY_PREFIX: prefix,
      QUEUE_CONCURRENCY: '2',
      QUEUE_LOCK_DURATION_MS: '2000',
      DRAIN_ABORT_GRACE_MS: String(ABORT_GRACE_MS),
      DRAIN_QUEUES_RATE_LIMIT: '10000',
    });
  });

  afterEach(async () => {
    await server.stop();
    await server.restart();
    await testApp.close();
  });

  const drain = () =>
    request(testApp.app.getHttpServer())
      .post(DRAIN_PATH)
      .query({ maxDurationMs: MAX_DURATION_MS })
      .set('Authorization', `Bearer ${TEST_TOKEN}`)
      // The call's socket closes with it, so only a leak keeps a resource open.
      .set('Connection', 'close');

  /** Calls the drain until every job of `batch-jobs` has completed; returns the jobs processed. */
  async function drainUntilComplete(queues: TestQueues, jobCount: number): Promise<number> {
    let processed = 0;
    await waitUntil(
      async () => {
        const response = await drain().expect(200);
        processed += response.body.queues['batch-jobs'].processed as number;
        return (await queues.counts('batch-jobs')).completed === jobCount;
      },
      'every job has completed',
      60_000,
      250,
    );
    return processed;
  }

  function expect503(response: request.Response, startedAt: number, message?: string): void {
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe(String(REDIS_UNAVAILABLE_RETRY_AFTER_SECONDS));
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
    if (message !== undefined) {
      expect(response.body.message).toBe(message);
    }
    expect(JSON.stringify(response.body)).not.toContain(String(server.port));
    expect(Date.now() - startedAt).toBeLessThan(ANSWER_BOUND_MS);
  }

  describe('when Redis is down before the call', () => {
    it('answers 503 and the next call after Redis returns succeeds', async () => {
      await server.stop();
      const resourcesBefore = await lowestCounts(openResources);

      const startedAt = Date.now();
      expect503(await drain(), startedAt, CronMessages.redisUnavailable);
      await expectResourcesBack(resourcesBefore);

      await server.restart();
      const response = await drain().expect(200);
      expect(response.body.stoppedBy).toBe('idle');
    });
  });

  describe.each([
    ['is killed', (redis: RedisServer) => redis.stop()],
    ['stops answering', (redis: RedisServer) => Promise.resolve(redis.freeze())],
  ])('when Redis %s during the call', (_name, fail) => {
    it('answers 503 within the deadline, then every job completes once', async () => {
      const jobCount = 4;
      const resourcesBefore = await lowestCounts(openResources);
      let queues = new TestQueues(server.url, prefix);
      let events = await JobEvents.start(server.url, prefix, 'batch-jobs');
      const jobs = await queues
        .get('batch-jobs')
        .addBulk(Array.from({ length: jobCount }, (_, index) => ({ name: `job-${index}`, data: { workMs: 1_000 } })));
      const startedAt = Date.now();
      const call = drain().then((response) => response);
      await events.waitFor('active', jobs[0]!);
      // The test's own clients close first, so that only the call's
      // connection sees the failure and the resource count is the call's.
      await events.close();
      await queues.close();

      await fail(server);
      expect503(await call, startedAt, CronMessages.redisLostDuringCall);
      await expectResourcesBack(resourcesBefore);

      server.thaw();
      await server.stop();
      await server.restart();
      queues = new TestQueues(server.url, prefix);
      events = await JobEvents.start(server.url, prefix, 'batch-jobs');
      try {
        await drainUntilComplete(queues, jobCount);

        expect(await queues.counts('batch-jobs')).toMatchObject({ completed: jobCount, active: 0, failed: 0 });
        await Promise.all(jobs.map((job) => events.waitFor('completed', job)));
        const completions = events.count('completed');
        expect(jobs.map((job) => completions.get(job.id!))).toEqual(jobs.map(() => 1));
      } finally {
        await events.close();
        await queues.close();
      }
    });
  });

  it('leaves no client connected after a failed call', async () => {
    const observer = new Redis(server.url);
    try {
      const clientsBefore = await connectedClients(observer);
      server.freeze();
      const startedAt = Date.now();
      expect503(await drain(), startedAt);
      server.thaw();

      await waitUntil(async () => (await connectedClients(observer)) === clientsBefore, 'the call has disconnected');
    } finally {
      observer.disconnect();
    }
  });
});

async function connectedClients(client: Redis): Promise<number> {
  const info = await client.info('clients');
  return Number(/connected_clients:(\d+)/.exec(info)?.[1]);
}

describe('always-on workers when Redis restarts', () => {
  let server: RedisServer;
  let prefix: string;
  let testApp: TestApp;
  let queues: TestQueues;
  let events: JobEvents;

  beforeAll(async () => {
    server = await RedisServer.start({ persistent: true });
  });

  afterAll(async () => {
    await server.destroy();
  });

  beforeEach(async () => {
    prefix = uniquePrefix();
    testApp = await createTestApp({ REDIS_URL: server.url, QUEUE_KEY_PREFIX: prefix, WORKER_INPROCESS: '1' });
    queues = new TestQueues(server.url, prefix);
    events = await JobEvents.start(server.url, prefix, 'seed-jobs');
  });

  afterEach(async () => {
    await events.close();
    await queues.close();
    await testApp.close();
  });

  async function restartRedis(): Promise<void> {
    await server.stop();
    await server.restart();
  }

  const seedWorker = () =>
    testApp.app.get<readonly QueueProcessor[]>(QUEUE_PROCESSORS).find((processor) => processor.queue === 'seed-jobs')!
      .worker;

  it('survives an outage and processes new jobs after it', async () => {
    const observer = new Redis(server.url, { maxRetriesPerRequest: null });
    observer.on('error', () => undefined);
    try {
      await waitUntil(async () => (await blockedConnections(observer, prefix)) === 5, 'every worker is blocked');
      // The second 'reconnecting' of a worker connection follows a refused
      // attempt, which BullMQ reports as an error event of the worker.
      const client = await seedWorker().getBackend().client;
      let reconnects = 0;
      const refused = new Promise<void>((resolve) =>
        client.on('reconnecting', () => {
          reconnects += 1;
          if (reconnects === 2) {
            resolve();
          }
        }),
      );

      await server.stop();
      await refused;
      await server.restart();
      const job = await queues.get('seed-jobs').add('after-restart', { workMs: 0 });

      await events.waitFor('completed', job);
      expect(await queues.get('seed-jobs').getJobState(job.id!)).toBe('completed');
    } finally {
      observer.disconnect();
    }
  });

  it('completes a job that was running during the restart once', async () => {
    const worker = seedWorker();
    // The worker's own event, unlike the queue's, shows that the worker
    // received the job and runs it, not just that Redis moved it to active.
    const started = once(worker, 'active');
    const job = await queues.get('seed-jobs').add('during-restart', { workMs: 1_500 });
    await started;

    await restartRedis();

    await events.waitFor('completed', job);
    expect(await queues.counts('seed-jobs')).toMatchObject({ completed: 1, active: 0, wait: 0, failed: 0 });
    expect(events.count('completed').get(job.id!)).toBe(1);
    expect(events.count('active').get(job.id!)).toBe(1);
  });
});

/** Counts the worker connections under `prefix` that wait in BZPOPMIN. */
async function blockedConnections(client: Redis, prefix: string): Promise<number> {
  const list = String(await client.client('LIST'));
  return list.split('\n').filter((line) => line.includes(`name=${prefix}:`) && line.includes('cmd=bzpopmin')).length;
}
