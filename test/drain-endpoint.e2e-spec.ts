import request from 'supertest';

import { QUEUE_NAMES } from '../src/queues/queue-names';
import { createTestApp, TEST_TOKEN, type TestApp } from './support/test-app';
import { CommandRecorder, TestQueues } from './support/queues';
import { uniquePrefix, useTestRedis, type TestRedis } from './support/test-redis';

const DRAIN_PATH = '/api/v1/cron/drain-queues';

describe('drain endpoint', () => {
  let redis: TestRedis;
  let testApp: TestApp;
  let queues: TestQueues;

  beforeAll(async () => {
    redis = await useTestRedis();
  });

  afterAll(async () => {
    await redis.stop();
  });

  beforeEach(async () => {
    const prefix = uniquePrefix();
    testApp = await createTestApp({ REDIS_URL: redis.url, QUEUE_KEY_PREFIX: prefix });
    queues = new TestQueues(redis.url, prefix);
  });

  afterEach(async () => {
    await queues.close();
    await testApp.close();
  });

  const drain = () => request(testApp.app.getHttpServer()).post(DRAIN_PATH).set('Authorization', `Bearer ${TEST_TOKEN}`);

  describe('when every queue is empty', () => {
    it('reports each queue idle at 0', async () => {
      const response = await drain().expect(200);

      expect(response.body.stoppedBy).toBe('idle');
      expect(Object.keys(response.body.queues)).toEqual([...QUEUE_NAMES]);
      for (const name of QUEUE_NAMES) {
        expect(response.body.queues[name]).toEqual({
          processed: 0,
          failed: 0,
          idleAt: 0,
          stoppedBy: 'idle',
          remaining: 0,
          delayed: 0,
          nextDueInMs: null,
        });
      }
    });

    it('sends one command, as MONITOR sees it', async () => {
      const recorder = await CommandRecorder.start(redis.url);
      try {
        recorder.reset();
        const response = await drain().expect(200);
        await recorder.mark();

        expect(response.body.redisCommands).toBe(1);
        expect(recorder.count).toBe(1);
      } finally {
        await recorder.stop();
      }
    });
  });

  describe('when the queues hold jobs', () => {
    it('processes every queue in one call', async () => {
      await queues.addToAll(3);

      const response = await drain().expect(200);

      for (const name of QUEUE_NAMES) {
        expect(response.body.queues[name]).toMatchObject({ processed: 3, failed: 0, stoppedBy: 'idle', remaining: 0 });
        expect(await queues.counts(name)).toMatchObject({ completed: 3, wait: 0, active: 0 });
      }
    });
  });
});
