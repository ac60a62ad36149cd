import { TestQueues } from './support/queues';
import { createTestApp } from './support/test-app';
import { uniquePrefix, useTestRedis, type TestRedis } from './support/test-redis';
import { waitUntil } from './support/wait-until';

describe('always-on workers and the database in REDIS_URL', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await useTestRedis();
  });

  afterAll(async () => {
    await redis.stop();
  });

  it('refuse to start on a database the server lacks', async () => {
    const prefix = uniquePrefix();
    const queues = new TestQueues(redis.url, prefix);
    try {
      await queues.add('batch-jobs', 1);

      // An application that starts anyway is closed, so that its workers
      // stop before the assertions run.
      const outcome = await createTestApp({
        REDIS_URL: `${redis.url}/16`,
        WORKER_INPROCESS: '1',
        QUEUE_KEY_PREFIX: prefix,
      }).then(
        async (testApp) => testApp.close(),
        (error: unknown) => error,
      );

      expect(outcome).toBeInstanceOf(Error);
      expect((outcome as Error).message).toContain(
        'REDIS_URL names database 16, which this Redis server does not have',
      );
      expect(await queues.counts('batch-jobs')).toMatchObject({ wait: 1, completed: 0 });
    } finally {
      await queues.close();
    }
  });

  it('start on a database the server has', async () => {
    const prefix = uniquePrefix();
    const url = `${redis.url}/3`;
    const queues = new TestQueues(url, prefix);
    const testApp = await createTestApp({ REDIS_URL: url, WORKER_INPROCESS: '1', QUEUE_KEY_PREFIX: prefix });
    try {
      await queues.add('batch-jobs', 1);

      await waitUntil(async () => (await queues.counts('batch-jobs')).completed === 1, 'the job has completed');
    } finally {
      await testApp.close();
      await queues.close();
    }
  });
});
