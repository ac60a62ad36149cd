import request from 'supertest';

import { AppProcess } from './support/app-process';
import { JobEvents } from './support/job-events';
import { TestQueues } from './support/queues';
import { freePort } from './support/redis-server';
import { createTestApp, TEST_TOKEN } from './support/test-app';
import { uniquePrefix, useTestRedis, type TestRedis } from './support/test-redis';

const API_READY = 'Nest application successfully started';
const WORKERS_READY = 'Always-on workers started';
const DRAIN_PATH = '/api/v1/cron/drain-queues';

/** Long enough that a job never finishes by itself while a test looks at it. */
const LONG_WORK_MS = 120_000;

jest.setTimeout(60_000);

describe('process shutdown', () => {
  let redis: TestRedis;
  let prefix: string;
  let queues: TestQueues;
  let events: JobEvents;
  const processes: AppProcess[] = [];

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
    await Promise.all(processes.splice(0).map((process) => process.kill()));
    await events.close();
    await queues.close();
  });

  async function start(entry: 'main' | 'worker', env: Record<string, string>): Promise<AppProcess> {
    const process = await AppProcess.start(
      entry,
      {
        REDIS_URL: redis.url,
        QUEUE_KEY_PREFIX: prefix,
        PORT: String(await freePort()),
        DRAIN_QUEUES_TOKEN: TEST_TOKEN,
        ...env,
      },
      entry === 'main' && env.WORKER_INPROCESS === '0' ? API_READY : WORKERS_READY,
    );
    processes.push(process);
    return process;
  }

  /** Drains the queues with an in-process application in cron mode, as the next scheduler call would. */
  async function drainOnce(query: Record<string, string> = {}) {
    const testApp = await createTestApp({ REDIS_URL: redis.url, QUEUE_KEY_PREFIX: prefix });
    try {
      const response = await request(testApp.app.getHttpServer())
        .post(DRAIN_PATH)
        .query(query)
        .set('Authorization', `Bearer ${TEST_TOKEN}`)
        .expect(200);
      return response.body as { queues: Record<string, { processed: number; stoppedBy: string }> };
    } finally {
      await testApp.close();
    }
  }

  describe.each([
    ['API with in-process workers', 'main'],
    ['standalone worker', 'worker'],
  ] as const)('%s', (_name, entry) => {
    it('finishes a running job, then exits 0', async () => {
      const app = await start(entry, { WORKER_SHUTDOWN_GRACE_MS: '60000' });
      const job = await queues.get('batch-jobs').add('short', { workMs: 1_500 });
      await events.waitFor('active', job);

      app.signal('SIGTERM');

      expect(await app.exited).toEqual({ code: 0, signal: null });
      expect(await queues.get('batch-jobs').getJobState(job.id!)).toBe('completed');
    });

    it('puts a job back when the grace runs out, then exits 0', async () => {
      const app = await start(entry, { WORKER_SHUTDOWN_GRACE_MS: '500' });
      const job = await queues.get('batch-jobs').add('long', { workMs: LONG_WORK_MS });
      await events.waitFor('active', job);

      app.signal('SIGTERM');

      expect(await app.exited).toEqual({ code: 0, signal: null });
      await expectPutBack(job.id!);
    });

    it('puts a job back at once on a second signal', async () => {
      const app = await start(entry, { WORKER_SHUTDOWN_GRACE_MS: '600000' });
      const job = await queues.get('batch-jobs').add('long', { workMs: LONG_WORK_MS });
      await events.waitFor('active', job);

      app.signal('SIGTERM');
      await app.waitForMessage('Received SIGTERM');
      app.signal('SIGINT');

      expect(await app.exited).toEqual({ code: 0, signal: null });
      await expectPutBack(job.id!);
    });

    it('exits 0 when idle', async () => {
      const app = await start(entry, {});

      app.signal('SIGINT');

      expect(await app.exited).toEqual({ code: 0, signal: null });
    });
  });

  describe('API in cron mode with a drain call in progress', () => {
    it('answers the call, puts its job back and exits 0', async () => {
      const port = await freePort();
      const app = await start('main', {
        WORKER_INPROCESS: '0',
        PORT: String(port),
        WORKER_SHUTDOWN_GRACE_MS: '600000',
      });
      const job = await queues.get('batch-jobs').add('long', { workMs: LONG_WORK_MS });
      const call = request(`http://127.0.0.1:${port}`)
        .post(DRAIN_PATH)
        .set('Authorization', `Bearer ${TEST_TOKEN}`)
        .then((response) => response);
      await events.waitFor('active', job);

      app.signal('SIGTERM');
      const response = await call;

      expect(response.status).toBe(200);
      expect(response.body.queues['batch-jobs']).toMatchObject({ processed: 0, stoppedBy: 'maxDuration' });
      expect(await app.exited).toEqual({ code: 0, signal: null });
      await expectPutBack(job.id!);
    });
  });

  describe('API with in-process workers and a drain call in progress', () => {
    it('stops the drain call at once while the workers finish', async () => {
      const port = await freePort();
      const app = await start('main', {
        PORT: String(port),
        WORKER_QUEUES: 'dsar-jobs',
        DRAIN_DEFAULT_QUEUES: 'batch-jobs',
        WORKER_SHUTDOWN_GRACE_MS: '600000',
      });
      const dsarEvents = await JobEvents.start(redis.url, prefix, 'dsar-jobs');
      try {
        const drained = await queues.get('batch-jobs').add('long', { workMs: LONG_WORK_MS });
        const worked = await queues.get('dsar-jobs').add('long', { workMs: LONG_WORK_MS });
        const call = request(`http://127.0.0.1:${port}`)
          .post(DRAIN_PATH)
          .set('Authorization', `Bearer ${TEST_TOKEN}`)
          .then((response) => response);
        await Promise.all([events.waitFor('active', drained), dsarEvents.waitFor('active', worked)]);

        app.signal('SIGTERM');
        const response = await call;

        expect(response.body.queues['batch-jobs']).toMatchObject({ processed: 0, stoppedBy: 'maxDuration' });
        expect(await queues.get('batch-jobs').getJobState(drained.id!)).toBe('waiting');
        expect(await queues.get('dsar-jobs').getJobState(worked.id!)).toBe('active');

        app.signal('SIGTERM');
        expect(await app.exited).toEqual({ code: 0, signal: null });
        expect(await queues.get('dsar-jobs').getJobState(worked.id!)).toBe('waiting');
      } finally {
        await dsarEvents.close();
      }
    });
  });

  /**
   * Checks that a job is waiting again without a lock, a counted stall or a
   * used attempt, and that the next consumer runs it at once.
   */
  async function expectPutBack(jobId: string): Promise<void> {
    const queue = queues.get('batch-jobs');
    expect(await queue.getJobState(jobId)).toBe('waiting');
    const job = (await queue.getJob(jobId))!;
    expect(job.attemptsMade).toBe(0);
    expect(job.stalledCounter).toBe(0);

    await job.updateData({ workMs: 0 });
    const result = await drainOnce({ queue: 'batch-jobs' });

    expect(result.queues['batch-jobs']).toMatchObject({ processed: 1, stoppedBy: 'idle' });
    expect(await queue.getJobState(jobId)).toBe('completed');
  }
});
