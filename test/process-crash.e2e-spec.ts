import request from 'supertest';

import { AppProcess } from './support/app-process';
import { JobEvents } from './support/job-events';
import { TestQueues } from './support/queues';
import { freePort } from './support/redis-server';
import { TEST_TOKEN } from './support/test-app';
import { uniquePrefix, useTestRedis, type TestRedis } from './support/test-redis';
import { waitUntil } from './support/wait-until';

jest.setTimeout(90_000);

const DRAIN_PATH = '/api/v1/cron/drain-queues';
const JOB_COUNT = 6;

describe('API process killed during a drain', () => {
  let redis: TestRedis;
  let prefix: string;
  let queues: TestQueues;
  let events: JobEvents;
  let api: AppProcess | undefined;

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
    await api?.kill();
    await events.close();
    await queues.close();
  });

  async function startApi(port: number): Promise<AppProcess> {
    return AppProcess.start(
      'main',
      {
        REDIS_URL: redis.url,
        QUEUE_KEY_PREFIX: prefix,
        PORT: String(port),
        DRAIN_QUEUES_TOKEN: TEST_TOKEN,
        WORKER_INPROCESS: '0',
        QUEUE_CONCURRENCY: '2',
        // A short lock lets the test see expired locks recovered within seconds.
        QUEUE_LOCK_DURATION_MS: '2000',
        DRAIN_QUEUES_RATE_LIMIT: '10000',
      },
      'Nest application successfully started',
    );
  }

  it('completes every job exactly once after a restart', async () => {
    const port = await freePort();
    api = await startApi(port);
    const jobs = await queues
      .get('batch-jobs')
      .addBulk(Array.from({ length: JOB_COUNT }, (_, index) => ({ name: `slow-${index}`, data: { workMs: 1_000 } })));
    const call = request(`http://127.0.0.1:${port}`)
      .post(DRAIN_PATH)
      .set('Authorization', `Bearer ${TEST_TOKEN}`)
      .then(
        () => 'answered',
        () => 'connection lost',
      );
    await Promise.all(jobs.slice(0, 2).map((job) => events.waitFor('active', job)));

    await api.kill();
    expect(await call).toBe('connection lost');
    const activeAtCrash = (await queues.counts('batch-jobs')).active ?? 0;
    expect(activeAtCrash).toBeGreaterThan(0);

    api = await startApi(port);
    let processedAfterRestart = 0;
    await waitUntil(
      async () => {
        const response = await request(`http://127.0.0.1:${port}`)
          .post(DRAIN_PATH)
          .set('Authorization', `Bearer ${TEST_TOKEN}`)
          .expect(200);
        processedAfterRestart += response.body.queues['batch-jobs'].processed as number;
        const counts = await queues.counts('batch-jobs');
        return counts.completed === JOB_COUNT;
      },
      'every job has completed',
      60_000,
      250,
    );

    expect(await queues.counts('batch-jobs')).toMatchObject({ completed: JOB_COUNT, active: 0, wait: 0, failed: 0 });
    const completions = events.count('completed');
    expect(jobs.map((job) => completions.get(job.id!))).toEqual(jobs.map(() => 1));
    const completedBeforeCrash = JOB_COUNT - processedAfterRestart;
    expect(completedBeforeCrash).toBeLessThanOrEqual(JOB_COUNT - activeAtCrash);
  });
});
