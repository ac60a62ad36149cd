import request from 'supertest';

import { QUEUE_NAMES } from '../src/queues/queue-names';
import { RedisServer } from './support/redis-server';
import { CommandRecorder, TestQueues } from './support/queues';
import { createTestApp, TEST_TOKEN, type TestApp } from './support/test-app';
import { uniquePrefix, useTestRedis, type TestRedis } from './support/test-redis';

const DRAIN_PATH = '/api/v1/cron/drain-queues';

const QUEUE_RESULT_SHAPE = {
  processed: expect.any(Number),
  failed: expect.any(Number),
  stoppedBy: expect.any(String),
  remaining: expect.any(Number),
  delayed: expect.any(Number),
};

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

  async function startApp(env: Record<string, string | undefined> = {}): Promise<void> {
    const prefix = uniquePrefix();
    testApp = await createTestApp({ REDIS_URL: redis.url, QUEUE_KEY_PREFIX: prefix, ...env });
    queues = new TestQueues(redis.url, prefix);
  }

  afterEach(async () => {
    await queues.close();
    await testApp.close();
  });

  const post = (query = '') =>
    request(testApp.app.getHttpServer()).post(`${DRAIN_PATH}${query}`).set('Authorization', `Bearer ${TEST_TOKEN}`);

  describe('when every queue is empty', () => {
    beforeEach(() => startApp());

    it('reports each queue idle at 0', async () => {
      const response = await post().expect(200);

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
        const response = await post().expect(200);
        await recorder.mark();

        expect(response.body.redisCommands).toBe(1);
        expect(recorder.count).toBe(1);
      } finally {
        await recorder.stop();
      }
    });
  });

  describe('when the queues hold jobs', () => {
    beforeEach(() => startApp());

    it('processes every queue in one call', async () => {
      await queues.addToAll(3);

      const response = await post().expect(200);

      for (const name of QUEUE_NAMES) {
        expect(response.body.queues[name]).toMatchObject({ processed: 3, failed: 0, stoppedBy: 'idle', remaining: 0 });
        expect(await queues.counts(name)).toMatchObject({ completed: 3, wait: 0, active: 0 });
      }
    });

    it('answers with the documented body, field by field', async () => {
      await queues.add('batch-jobs', 2);
      const before = Date.now();

      const response = await post()
        .expect(200)
        .expect('Content-Type', /application\/json/);

      const body = response.body as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(['durationMs', 'queues', 'redisCommands', 'startedAt', 'stoppedBy']);
      expect(new Date(body.startedAt as string).toISOString()).toBe(body.startedAt);
      expect(Date.parse(body.startedAt as string)).toBeGreaterThanOrEqual(before - 1);
      expect(body.durationMs).toEqual(expect.any(Number));
      expect(body.stoppedBy).toBe('idle');
      // The probe, one fetch and two completions, the last of which finds the
      // queue empty. A queue that ends idle needs no closing probe.
      expect(body.redisCommands).toBe(4);
      const batch = response.body.queues['batch-jobs'];
      expect(Object.keys(batch).sort()).toEqual([
        'delayed',
        'failed',
        'idleAt',
        'nextDueInMs',
        'processed',
        'remaining',
        'stoppedBy',
      ]);
      expect(batch).toEqual({ ...QUEUE_RESULT_SHAPE, processed: 2, idleAt: expect.any(Number), nextDueInMs: null });
      expect(batch.idleAt).toBeLessThanOrEqual(body.durationMs as number);
    });

    it('reports a failing job as failed and keeps its reason', async () => {
      await queues.add('dsar-jobs', 1, { fail: true });
      await queues.add('dsar-jobs', 1);

      const response = await post().expect(200);

      expect(response.body.queues['dsar-jobs']).toMatchObject({ processed: 1, failed: 1, stoppedBy: 'idle' });
      const [failed] = await queues.get('dsar-jobs').getFailed();
      expect(failed?.failedReason).toContain('failed on purpose');
    });

    it('retries a failing job at once under its attempts', async () => {
      await queues.add('dsar-jobs', 1, { fail: true }, { attempts: 3 });

      const response = await post().expect(200);

      expect(response.body.queues['dsar-jobs']).toMatchObject({ failed: 3, remaining: 0, stoppedBy: 'idle' });
      expect(await queues.counts('dsar-jobs')).toMatchObject({ failed: 1, wait: 0 });
    });

    it('leaves a failing job with backoff delayed for a later call', async () => {
      await queues.add('dsar-jobs', 1, { fail: true }, { attempts: 2, backoff: { type: 'fixed', delay: 60_000 } });

      const response = await post().expect(200);

      expect(response.body.queues['dsar-jobs']).toMatchObject({ failed: 1, remaining: 0, delayed: 1 });
      expect(response.body.queues['dsar-jobs'].nextDueInMs).toBeGreaterThan(50_000);
    });

    it('reports a delayed job with the time until it is due', async () => {
      await queues.add('journey-jobs', 1, {}, { delay: 45_000 });

      const response = await post().expect(200);

      const journey = response.body.queues['journey-jobs'];
      expect(journey).toMatchObject({ processed: 0, remaining: 0, delayed: 1, idleAt: 0 });
      expect(journey.nextDueInMs).toBeGreaterThan(40_000);
      expect(journey.nextDueInMs).toBeLessThanOrEqual(45_000);
    });

    it('answers GET like POST', async () => {
      await queues.add('seed-jobs', 2);

      const response = await request(testApp.app.getHttpServer())
        .get(DRAIN_PATH)
        .set('X-Cron-Secret', TEST_TOKEN)
        .expect(200)
        .expect('Cache-Control', 'no-store');

      expect(response.body.queues['seed-jobs']).toMatchObject({ processed: 2, stoppedBy: 'idle' });
    });

    it('answers HEAD with 405 and runs no job', async () => {
      await queues.add('seed-jobs', 1);

      await request(testApp.app.getHttpServer())
        .head(DRAIN_PATH)
        .set('X-Cron-Secret', TEST_TOKEN)
        .expect(405)
        .expect('Allow', 'GET, POST');

      expect(await queues.counts('seed-jobs')).toMatchObject({ wait: 1, completed: 0 });
    });

    it('ignores the request body, even malformed JSON', async () => {
      await post().set('Content-Type', 'application/json').send('{"queue": ').expect(200);
    });
  });

  describe('query parameters', () => {
    beforeEach(() => startApp());

    it('processes only the queue named by queue', async () => {
      await queues.addToAll(2);

      const response = await post('?queue=retrain-jobs').expect(200);

      expect(Object.keys(response.body.queues)).toEqual(['retrain-jobs']);
      expect(response.body.queues['retrain-jobs']).toMatchObject({ processed: 2 });
      expect(await queues.counts('batch-jobs')).toMatchObject({ wait: 2, completed: 0 });
    });

    it('stops a queue at maxJobsPerQueue and reports what remains', async () => {
      await queues.add('batch-jobs', 5);

      const response = await post('?queue=batch-jobs&maxJobsPerQueue=2').expect(200);

      expect(response.body.stoppedBy).toBe('maxJobs');
      expect(response.body.queues['batch-jobs']).toMatchObject({
        processed: 2,
        stoppedBy: 'maxJobs',
        remaining: 3,
        idleAt: null,
      });
      expect(await queues.counts('batch-jobs')).toMatchObject({ completed: 2, wait: 3, active: 0 });
    });

    it('stops slow jobs at maxDurationMs and puts them back for the next call', async () => {
      await queues.add('retrain-jobs', 2, { workMs: 30_000 });
      const startedAt = Date.now();

      const response = await post('?queue=retrain-jobs&maxDurationMs=300').expect(200);

      const elapsedMs = Date.now() - startedAt;
      expect(response.body.stoppedBy).toBe('maxDuration');
      expect(response.body.queues['retrain-jobs']).toMatchObject({
        processed: 0,
        failed: 0,
        stoppedBy: 'maxDuration',
        idleAt: null,
        remaining: 2,
      });
      // Deadline, abort grace (2 s by default) and the 1 s settle allowance.
      expect(elapsedMs).toBeLessThan(300 + 2_000 + 1_000);
      expect(await queues.counts('retrain-jobs')).toMatchObject({ wait: 2, active: 0, failed: 0 });
    });

    it.each([
      ['?maxDurationMs=abc', 'maxDurationMs'],
      ['?maxConcurrentQueues=0', 'maxConcurrentQueues'],
      ['?maxJobsPerQueue=1.5', 'maxJobsPerQueue'],
      ['?queue=unknown', 'queue'],
      ['?queue[]=batch-jobs', 'queue[]'],
      ['?queue=batch-jobs&queue=seed-jobs', 'queue'],
      ['?verbose=1', 'verbose'],
    ])('answers 400 to %s and names %s', async (query, name) => {
      await queues.add('batch-jobs', 1);

      const response = await post(query).expect(400).expect('Cache-Control', 'no-store');

      expect(response.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(response.body.message.join(' ')).toContain(name);
      expect(await queues.counts('batch-jobs')).toMatchObject({ wait: 1 });
    });

    // Node's querystring, Express 5's default query parser, keeps only the
    // first 1,000 pairs, empty ones included.
    it.each([
      ['maxDurationMs=abc', 'maxDurationMs'],
      ['verbose=1', 'verbose'],
      ['queue=unknown', 'queue'],
    ])('answers 400 to %s after 1,000 empty pairs', async (pair, name) => {
      await queues.add('batch-jobs', 1);

      const response = await post(`?${'&'.repeat(1_000)}${pair}`).expect(400);

      expect(response.body.message.join(' ')).toContain(name);
      expect(await queues.counts('batch-jobs')).toMatchObject({ wait: 1 });
    });

    it('applies a parameter that follows 1,000 empty pairs', async () => {
      await queues.addToAll(1);

      const response = await post(`?${'&'.repeat(1_000)}queue=seed-jobs`).expect(200);

      expect(Object.keys(response.body.queues)).toEqual(['seed-jobs']);
      expect(await queues.counts('batch-jobs')).toMatchObject({ wait: 1 });
    });
  });

  describe('errors', () => {
    it('answers 401 without a token, with a message naming the accepted headers', async () => {
      await startApp();

      const response = await request(testApp.app.getHttpServer()).post(DRAIN_PATH).expect(401);

      expect(response.body).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: expect.stringContaining('X-Cron-Secret or X-Cron-Token header, or as Authorization: Bearer'),
      });
      expect(response.headers['cache-control']).toBe('no-store');
    });

    it('answers 401 to a wrong token without revealing the expected one', async () => {
      await startApp();

      const response = await request(testApp.app.getHttpServer())
        .post(DRAIN_PATH)
        .set('Authorization', 'Bearer wrong')
        .expect(401);

      expect(JSON.stringify(response.body)).not.toContain(TEST_TOKEN);
    });

    it('answers 403 to an address outside CRON_ALLOWED_IPS', async () => {
      await startApp({ CRON_ALLOWED_IPS: '203.0.113.0/24' });

      const response = await post().expect(403);

      expect(response.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
      expect(response.body.message).toContain('CRON_ALLOWED_IPS');
    });

    it('answers 429 with Retry-After once the rate limit is used up', async () => {
      await startApp({ DRAIN_QUEUES_RATE_LIMIT: '2' });
      await post().expect(200);
      await post().expect(200);

      const response = await post().expect(429);

      expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(response.body).toMatchObject({ statusCode: 429 });
    });

    it('answers 500 when REDIS_URL is not configured', async () => {
      await startApp({ REDIS_URL: undefined });

      const response = await post().expect(500);

      expect(response.body).toEqual({
        statusCode: 500,
        error: 'Internal Server Error',
        message: expect.stringContaining('REDIS_URL is not configured'),
      });
    });

    it('answers 503 with Retry-After when Redis is unreachable', async () => {
      const stopped = await RedisServer.start();
      await stopped.stop();
      await startApp({ REDIS_URL: stopped.url });

      const response = await post().expect(503);

      expect(response.headers['retry-after']).toBe('30');
      expect(response.body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'Redis is unavailable, so no job was processed. Retry later.',
      });
    });
  });
});
