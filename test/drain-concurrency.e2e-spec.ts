import request from 'supertest';

import { JobEvents } from './support/job-events';
import { TestQueues } from './support/queues';
import { createTestApp, TEST_TOKEN, type TestApp } from './support/test-app';
import { uniquePrefix, useTestRedis, type TestRedis } from './support/test-redis';

jest.setTimeout(120_000);

const DRAIN_PATH = '/api/v1/cron/drain-queues';
const JOB_COUNT = 400;
const CONCURRENT_CALLS = 4;

describe('concurrent drain calls', () => {
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
    testApp = await createTestApp({
      REDIS_URL: redis.url,
      QUEUE_KEY_PREFIX: prefix,
      QUEUE_CONCURRENCY: '4',
      DRAIN_QUEUES_RATE_LIMIT: '100',
    });
    queues = new TestQueues(redis.url, prefix);
    events = await JobEvents.start(redis.url, prefix, 'batch-jobs');
  });

  afterEach(async () => {
    await events.close();
    await queues.close();
    await testApp.close();
  });

  it('run and record every job exactly once', async () => {
    const jobs = await queues
      .get('batch-jobs')
      .addBulk(Array.from({ length: JOB_COUNT }, (_, index) => ({ name: `job-${index}`, data: { workMs: 2 } })));

    const responses = await Promise.all(
      Array.from({ length: CONCURRENT_CALLS }, () =>
        request(testApp.app.getHttpServer())
          .post(DRAIN_PATH)
          .query({ queue: 'batch-jobs' })
          .set('Authorization', `Bearer ${TEST_TOKEN}`)
          .expect(200),
      ),
    );
    await Promise.all(jobs.map((job) => events.waitFor('completed', job)));

    const processed = responses.map((response) => response.body.queues['batch-jobs'].processed as number);
    expect(processed.reduce((total, count) => total + count, 0)).toBe(JOB_COUNT);
    expect(processed.filter((count) => count > 0).length).toBeGreaterThan(1);
    expect(await queues.counts('batch-jobs')).toMatchObject({ completed: JOB_COUNT, active: 0, wait: 0, failed: 0 });
    const started = events.count('active');
    const completed = events.count('completed');
    const ids = jobs.map((job) => job.id!);
    expect(ids.filter((id) => started.get(id) !== 1)).toEqual([]);
    expect(ids.filter((id) => completed.get(id) !== 1)).toEqual([]);
  });
});
