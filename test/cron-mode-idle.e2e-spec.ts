import { setTimeout as sleep } from 'node:timers/promises';

import request from 'supertest';

import { DRAIN_PATH } from './support/drain-fixture';
import { CommandRecorder, TestQueues } from './support/queues';
import { createTestApp, TEST_TOKEN, type TestApp } from './support/test-app';
import { uniquePrefix, useTestRedis, type TestRedis } from './support/test-redis';

/**
 * BullMQ workers and queues send commands as soon as they are created, so a
 * short idle period after start-up catches one that cron mode created by
 * mistake.
 */
const IDLE_PERIOD_MS = 1_500;

describe('API process in cron mode', () => {
  let redis: TestRedis;
  let recorder: CommandRecorder;
  let testApp: TestApp | undefined;

  beforeAll(async () => {
    redis = await useTestRedis();
  });

  afterAll(async () => {
    await redis.stop();
  });

  beforeEach(async () => {
    // Jobs are waiting, so that a consumer started by mistake would fetch them.
    const queues = new TestQueues(redis.url, uniquePrefix());
    await queues.addToAll(1);
    await queues.close();
    recorder = await CommandRecorder.start(redis.url);
    recorder.reset();
  });

  afterEach(async () => {
    await testApp?.close();
    testApp = undefined;
    await recorder.stop();
  });

  const post = (query: Record<string, string> = {}) =>
    request(testApp!.app.getHttpServer()).post(DRAIN_PATH).query(query);

  it('sends no command from start-up through an idle period to shutdown', async () => {
    testApp = await createTestApp({ REDIS_URL: redis.url });

    // Nothing happens while the process is idle, so there is no event to await.
    await sleep(IDLE_PERIOD_MS);
    await testApp.close();
    testApp = undefined;
    await recorder.mark();

    expect(recorder.commands).toEqual([]);
  });

  it('sends no command for requests rejected with 400 or 401', async () => {
    testApp = await createTestApp({ REDIS_URL: redis.url });

    await post().expect(401);
    await post().set('Authorization', 'Bearer wrong-token').expect(401);
    await post({ maxDurationMs: 'abc' }).set('Authorization', `Bearer ${TEST_TOKEN}`).expect(400);
    await post({ queue: 'unknown-jobs' }).set('Authorization', `Bearer ${TEST_TOKEN}`).expect(400);
    await recorder.mark();

    expect(recorder.commands).toEqual([]);
  });

  it('sends no command for requests rejected with 403 or 429', async () => {
    testApp = await createTestApp({
      REDIS_URL: redis.url,
      CRON_ALLOWED_IPS: '203.0.113.0/24',
      DRAIN_QUEUES_RATE_LIMIT: '2',
    });

    await post().set('Authorization', `Bearer ${TEST_TOKEN}`).expect(403);
    await post().set('Authorization', `Bearer ${TEST_TOKEN}`).expect(403);
    await post().set('Authorization', `Bearer ${TEST_TOKEN}`).expect(429);
    await recorder.mark();

    expect(recorder.commands).toEqual([]);
  });

  it('sends commands for an accepted request, so the recording works', async () => {
    testApp = await createTestApp({ REDIS_URL: redis.url });

    await post().set('Authorization', `Bearer ${TEST_TOKEN}`).expect(200);
    await recorder.mark();

    expect(recorder.count).toBeGreaterThan(0);
  });
});
