import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

import { QUEUE_NAMES } from '../src/queues/queue-names';
import { NON_ERROR_THROWN } from '../src/queues/queues.messages';
import type { QueueProcessor } from '../src/workers/queue-processor';
import { QUEUE_PROCESSORS } from '../src/workers/workers.lifecycle';
import { JobEvents } from './support/job-events';
import { TestQueues } from './support/queues';
import {
  HandlerLog,
  NON_ERROR_PREVIEWS,
  NON_ERROR_THROWS,
  RecordingHandlersModule,
} from './support/recording-handlers';
import { createTestApp, type TestApp } from './support/test-app';
import { uniquePrefix, useTestRedis, type TestRedis } from './support/test-redis';
import { waitUntil } from './support/wait-until';

jest.setTimeout(60_000);

describe('always-on workers', () => {
  let redis: TestRedis;
  let prefix: string;
  let testApp: TestApp;
  let queues: TestQueues;

  beforeAll(async () => {
    redis = await useTestRedis();
  });

  afterAll(async () => {
    await redis.stop();
  });

  beforeEach(async () => {
    prefix = uniquePrefix();
    queues = new TestQueues(redis.url, prefix);
    testApp = await createTestApp({
      REDIS_URL: redis.url,
      QUEUE_KEY_PREFIX: prefix,
      WORKER_INPROCESS: '1',
      QUEUE_CONCURRENCY: '2,batch-jobs=4',
      QUEUE_LOCK_DURATION_MS: '20000',
    });
  });

  afterEach(async () => {
    await testApp.close();
    await queues.close();
  });

  const processors = () => testApp.app.get<readonly QueueProcessor[]>(QUEUE_PROCESSORS);

  it('runs one worker per queue with the configured options', () => {
    const workers = new Map(processors().map((processor) => [processor.queue, processor.worker]));

    expect([...workers.keys()]).toEqual([...QUEUE_NAMES]);
    for (const [queue, worker] of workers) {
      expect(worker.isRunning()).toBe(true);
      expect(worker.concurrency).toBe(queue === 'batch-jobs' ? 4 : 2);
      expect(worker.opts).toMatchObject({
        prefix,
        drainDelay: 300,
        stalledInterval: 120_000,
        lockDuration: 20_000,
      });
    }
  });

  it('processes a new job without a drain call while blocked', async () => {
    // Each idle worker waits for a job in BZPOPMIN for up to 300 s; only the
    // marker that BullMQ adds with a job can wake it sooner.
    const client = new Redis(redis.url);
    try {
      await waitUntil(
        async () => (await blockedWorkers(client, prefix)) === QUEUE_NAMES.length,
        'every worker is blocked',
      );
    } finally {
      client.disconnect();
    }
    const events = await JobEvents.start(redis.url, prefix, 'journey-jobs');
    try {
      const job = await queues.get('journey-jobs').add('new', { workMs: 0 });

      await events.waitFor('completed', job);

      expect(await queues.get('journey-jobs').getJobState(job.id!)).toBe('completed');
    } finally {
      await events.close();
    }
  });
});

describe('always-on workers and an abandoned job', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await useTestRedis();
  });

  afterAll(async () => {
    await redis.stop();
  });

  it('recover it after its lock expires', async () => {
    const prefix = uniquePrefix();
    const queues = new TestQueues(redis.url, prefix);
    const events = await JobEvents.start(redis.url, prefix, 'retrain-jobs');
    // A consumer that takes a job and dies without finishing it: BullMQ's
    // forced close leaves the job active, its lock expiring after 1 s.
    const crashed = new Worker('retrain-jobs', null, {
      connection: { url: redis.url, maxRetriesPerRequest: null },
      prefix,
      lockDuration: 1_000,
      autorun: false,
    });
    const job = await queues.get('retrain-jobs').add('abandoned', { workMs: 0 });
    expect((await crashed.getNextJob('crashed-consumer'))?.id).toBe(job.id);
    await crashed.close(true);

    const testApp = await createTestApp({
      REDIS_URL: redis.url,
      QUEUE_KEY_PREFIX: prefix,
      WORKER_INPROCESS: '1',
      WORKER_STALLED_INTERVAL_MS: '5000',
    });
    try {
      await events.waitFor('completed', job);

      const recovered = (await queues.get('retrain-jobs').getJob(job.id!))!;
      expect(await recovered.getState()).toBe('completed');
      expect(recovered.stalledCounter).toBe(1);
      expect(events.count('stalled').get(job.id!)).toBe(1);
    } finally {
      await testApp.close();
      await events.close();
      await queues.close();
    }
  });
});

describe('always-on workers and BullMQ job semantics', () => {
  let redis: TestRedis;
  let prefix: string;
  let testApp: TestApp;
  let queues: TestQueues;
  let events: JobEvents;
  let log: HandlerLog;

  beforeAll(async () => {
    redis = await useTestRedis();
  });

  afterAll(async () => {
    await redis.stop();
  });

  beforeEach(async () => {
    prefix = uniquePrefix();
    queues = new TestQueues(redis.url, prefix);
    events = await JobEvents.start(redis.url, prefix, 'batch-jobs');
  });

  afterEach(async () => {
    await testApp.close();
    await events.close();
    await queues.close();
  });

  async function startWorkers(env: Record<string, string> = {}): Promise<void> {
    testApp = await createTestApp(
      { REDIS_URL: redis.url, QUEUE_KEY_PREFIX: prefix, WORKER_INPROCESS: '1', WORKER_QUEUES: 'batch-jobs', ...env },
      { handlers: RecordingHandlersModule.forQueues(['batch-jobs']) },
    );
    log = testApp.app.get(HandlerLog);
  }

  it('retry a job with backoff', async () => {
    await startWorkers();
    const job = await queues
      .get('batch-jobs')
      .add('flaky', { failRuns: 2 }, { attempts: 3, backoff: { type: 'exponential', delay: 100 } });

    await events.waitFor('completed', job);

    const done = (await queues.get('batch-jobs').getJob(job.id!))!;
    expect(done.attemptsMade).toBe(3);
    expect(done.returnvalue).toEqual({ jobId: job.id, run: 3 });
    expect(log.callsOf('batch-jobs', job.id!).map((call) => call.outcome)).toEqual(['failed', 'failed', 'completed']);
    // Exponential backoff waits 100 ms before the second run and 200 ms before the third.
    const [first, second, third] = log.callsOf('batch-jobs', job.id!);
    expect(second!.startedAt - first!.finishedAt!).toBeGreaterThanOrEqual(100);
    expect(third!.startedAt - second!.finishedAt!).toBeGreaterThanOrEqual(200);
  });

  it("retry under the handler's own backoff type", async () => {
    await startWorkers();
    const job = await queues
      .get('batch-jobs')
      .add('flaky', { failRuns: 1 }, { attempts: 2, backoff: { type: 'instant' } });

    await events.waitFor('completed', job);

    expect(log.callsOf('batch-jobs', job.id!).map((call) => call.outcome)).toEqual(['failed', 'completed']);
  });

  it('fail a job whose backoff returns -1', async () => {
    await startWorkers();
    const job = await queues
      .get('batch-jobs')
      .add('unknown', { fail: true }, { attempts: 3, backoff: { type: 'unknown' } });

    await events.waitFor('failed', job);

    const failed = (await queues.get('batch-jobs').getJob(job.id!))!;
    expect(await failed.getState()).toBe('failed');
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toMatch(/failed on purpose/);
  });

  it('fail a job after its last attempt', async () => {
    await startWorkers();
    const job = await queues.get('batch-jobs').add('fails', { fail: true }, { attempts: 2 });

    await events.waitFor('failed', job);

    const failed = (await queues.get('batch-jobs').getJob(job.id!))!;
    expect(await failed.getState()).toBe('failed');
    expect(failed.attemptsMade).toBe(2);
    expect(log.callsOf('batch-jobs', job.id!)).toHaveLength(2);
    expect(failed.failedReason).toMatch(/failed on purpose/);
  });

  it('honour removeOnFail', async () => {
    await startWorkers();
    const job = await queues.get('batch-jobs').add('fails', { fail: true }, { removeOnFail: true });

    await events.waitFor('failed', job);

    expect(log.callsOf('batch-jobs', job.id!)).toHaveLength(1);
    expect(await queues.get('batch-jobs').getJob(job.id!)).toBeUndefined();
    expect(await queues.counts('batch-jobs')).toMatchObject({ failed: 0, active: 0, wait: 0 });
  });

  it('fail a job past maxStalledCount', async () => {
    const crashed = new Worker('batch-jobs', null, {
      connection: { url: redis.url, maxRetriesPerRequest: null },
      prefix,
      lockDuration: 1_000,
      autorun: false,
    });
    const job = await queues.get('batch-jobs').add('stalls', {});
    expect((await crashed.getNextJob('crashed-consumer'))?.id).toBe(job.id);
    await crashed.close(true);
    // BullMQ's default maxStalledCount is 1, so a job that has stalled once
    // already fails at its second stall instead of running again.
    const client = new Redis(redis.url);
    try {
      await client.hset(`${prefix}:batch-jobs:${job.id}`, 'stc', 1);
    } finally {
      client.disconnect();
    }

    await startWorkers({ WORKER_STALLED_INTERVAL_MS: '5000' });
    await events.waitFor('failed', job);

    const failed = (await queues.get('batch-jobs').getJob(job.id!))!;
    expect(await failed.getState()).toBe('failed');
    expect(failed.failedReason).toMatch(/stalled more than allowable limit/);
    expect(log.callsOf('batch-jobs', job.id!)).toHaveLength(0);
  });
});

describe('always-on workers and a handler that throws a non-Error value', () => {
  let redis: TestRedis;
  let prefix: string;
  let testApp: TestApp;
  let queues: TestQueues;
  let events: JobEvents;

  beforeAll(async () => {
    redis = await useTestRedis();
  });

  afterAll(async () => {
    await redis.stop();
  });

  beforeEach(async () => {
    prefix = uniquePrefix();
    queues = new TestQueues(redis.url, prefix);
    events = await JobEvents.start(redis.url, prefix, 'batch-jobs');
    testApp = await createTestApp(
      { REDIS_URL: redis.url, QUEUE_KEY_PREFIX: prefix, WORKER_INPROCESS: '1', WORKER_QUEUES: 'batch-jobs' },
      { handlers: RecordingHandlersModule.forQueues(['batch-jobs']) },
    );
  });

  afterEach(async () => {
    await testApp.close();
    await events.close();
    await queues.close();
  });

  it.each(NON_ERROR_THROWS)(
    'fail a job that throws a non-Error (%s)',
    async (kind) => {
      const thrower = await queues.get('batch-jobs').add('throws', { throwNonError: kind });
      const next = await queues.get('batch-jobs').add('next', {});

      await events.waitFor('failed', thrower);
      await events.waitFor('completed', next);

      const failed = (await queues.get('batch-jobs').getJob(thrower.id!))!;
      expect(await failed.getState()).toBe('failed');
      expect(failed.failedReason).toBe(NON_ERROR_THROWN(NON_ERROR_PREVIEWS[kind]));
      expect(await queues.counts('batch-jobs')).toMatchObject({ active: 0, failed: 1, completed: 1 });
    },
    // A failure that BullMQ cannot record leaves the job active with no event, so give up early.
    15_000,
  );
});

/** Counts the connections of the workers under `prefix` that wait in BZPOPMIN. */
async function blockedWorkers(client: Redis, prefix: string): Promise<number> {
  const list = await client.client('LIST');
  return String(list)
    .split('\n')
    .filter((line) => line.includes(`name=${prefix}:`) && line.includes('cmd=bzpopmin')).length;
}
