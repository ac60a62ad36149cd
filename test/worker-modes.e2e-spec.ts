import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import request from 'supertest';

import { TestQueues } from './support/queues';
import { createTestApp, TEST_TOKEN, type TestApp } from './support/test-app';
import { uniquePrefix, useTestRedis, type TestRedis } from './support/test-redis';

/** Names of the connections that BullMQ workers of `prefix` hold (BullMQ names them with CLIENT SETNAME). */
async function workerConnections(url: string, prefix: string): Promise<string[]> {
  const admin = new Redis(url);
  try {
    const clients = (await admin.client('LIST')) as string;
    return clients
      .split('\n')
      .map((line) => /name=(\S*)/.exec(line)?.[1] ?? '')
      .filter((name) => name.startsWith(`${prefix}:`));
  } finally {
    admin.disconnect();
  }
}

describe('WORKER_INPROCESS', () => {
  let redis: TestRedis;
  let testApp: TestApp;
  let queues: TestQueues;
  let prefix: string;

  beforeAll(async () => {
    redis = await useTestRedis();
  });

  afterAll(async () => {
    await redis.stop();
  });

  beforeEach(() => {
    prefix = uniquePrefix();
    queues = new TestQueues(redis.url, prefix);
  });

  afterEach(async () => {
    await testApp.close();
    await queues.close();
  });

  describe('when 1', () => {
    it('processes a new job without any drain call', async () => {
      testApp = await createTestApp({ REDIS_URL: redis.url, QUEUE_KEY_PREFIX: prefix, WORKER_INPROCESS: '1' });
      const events = new QueueEvents('seed-jobs', { connection: { url: redis.url }, prefix });
      await events.waitUntilReady();
      try {
        const job = await queues.get('seed-jobs').add('job', { workMs: 1 });

        const result = await job.waitUntilFinished(events, 10_000);

        expect(result).toMatchObject({ queue: 'seed-jobs', jobId: job.id, workedMs: 1 });
      } finally {
        await events.close();
      }
    });

    it('holds one worker connection per queue', async () => {
      testApp = await createTestApp({ REDIS_URL: redis.url, QUEUE_KEY_PREFIX: prefix, WORKER_INPROCESS: '1' });

      const names = await workerConnections(redis.url, prefix);

      expect(new Set(names.map((name) => name.split(':')[1])).size).toBe(5);
    });
  });

  describe('when 0', () => {
    it('runs no worker, so a new job stays waiting until a drain call', async () => {
      testApp = await createTestApp({ REDIS_URL: redis.url, QUEUE_KEY_PREFIX: prefix, WORKER_INPROCESS: '0' });
      await queues.add('seed-jobs', 1);

      expect(await workerConnections(redis.url, prefix)).toEqual([]);
      expect(await queues.counts('seed-jobs')).toMatchObject({ wait: 1, active: 0 });

      const response = await request(testApp.app.getHttpServer())
        .post('/api/v1/cron/drain-queues')
        .set('X-Cron-Token', TEST_TOKEN)
        .expect(200);

      expect(response.body.queues['seed-jobs']).toMatchObject({ processed: 1 });
      expect(await queues.counts('seed-jobs')).toMatchObject({ wait: 0, completed: 1 });
    });
  });
});
