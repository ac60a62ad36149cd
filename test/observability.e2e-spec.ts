import request from 'supertest';

import { AppLogger } from '../src/observability/app-logger';
import { LogCapture } from './support/log-capture';
import { CommandRecorder, TestQueues } from './support/queues';
import { createTestApp, TEST_TOKEN, type TestApp } from './support/test-app';
import { uniquePrefix, useTestRedis, type TestRedis } from './support/test-redis';

const DRAIN_PATH = '/api/v1/cron/drain-queues';
const METRICS_PATH = '/api/v1/metrics';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('observability', () => {
  let redis: TestRedis;
  let testApp: TestApp;
  let queues: TestQueues;

  beforeAll(async () => {
    redis = await useTestRedis();
  });

  afterAll(async () => {
    await redis.stop();
  });

  async function start(env: Record<string, string | undefined> = {}): Promise<ReturnType<typeof request>> {
    const prefix = uniquePrefix();
    testApp = await createTestApp({ REDIS_URL: redis.url, QUEUE_KEY_PREFIX: prefix, ...env });
    queues = new TestQueues(redis.url, prefix);
    return request(testApp.app.getHttpServer());
  }

  afterEach(async () => {
    await queues.close();
    await testApp.close();
  });

  describe('request id', () => {
    it('is generated when the request has none', async () => {
      const http = await start();

      const response = await http.get('/api/v1/health').expect(200);

      expect(response.headers['x-request-id']).toMatch(UUID);
    });

    it.each([
      ['a short id', 'trace-42'],
      ['a trace id', '4bf92f3577b34da6a3ce929d0e0e4736'],
      ['base64 characters', 'ab:cd/ef+gh='],
      ['128 characters', 'x'.repeat(128)],
    ])('echoes %s', async (_case, requestId) => {
      const http = await start();

      const response = await http.get('/api/v1/health').set('X-Request-Id', requestId).expect(200);

      expect(response.headers['x-request-id']).toBe(requestId);
    });

    it.each([
      ['spaces', 'has spaces'],
      ['markup', '<script>'],
      ['129 characters', 'x'.repeat(129)],
      ['an empty value', ''],
    ])('replaces an id with %s', async (_case, requestId) => {
      const http = await start();

      const response = await http.get('/api/v1/health').set('X-Request-Id', requestId).expect(200);

      expect(response.headers['x-request-id']).toMatch(UUID);
    });

    it('is echoed on rejected drain requests', async () => {
      const http = await start();

      const response = await http.post(DRAIN_PATH).set('X-Request-Id', 'rejected-1').expect(401);

      expect(response.headers['x-request-id']).toBe('rejected-1');
    });
  });

  describe('JSON log lines', () => {
    let capture: LogCapture;

    beforeEach(() => {
      capture = LogCapture.start();
    });

    afterEach(() => {
      capture.stop();
    });

    async function startLogging(env: Record<string, string | undefined> = {}): Promise<ReturnType<typeof request>> {
      const http = await start(env);
      testApp.app.useLogger(new AppLogger({ format: 'json', level: 'debug' }));
      return http;
    }

    const summaries = () =>
      capture.records.filter(
        (record) => record.context === 'DrainService' && String(record.message).startsWith('Drain call processed'),
      );

    it('writes exactly one summary line per drain call', async () => {
      const http = await startLogging();
      await queues.add('batch-jobs', 2);
      await queues.add('batch-jobs', 1, { fail: true });

      await http.post(DRAIN_PATH).set('Authorization', `Bearer ${TEST_TOKEN}`).expect(200);
      await http.post(DRAIN_PATH).set('Authorization', `Bearer ${TEST_TOKEN}`).expect(200);

      expect(summaries()).toHaveLength(2);
      expect(summaries()[0]).toMatchObject({
        level: 'log',
        processed: 2,
        failed: 1,
        stoppedBy: 'idle',
        redisCommands: expect.any(Number),
        durationMs: expect.any(Number),
        queues: { 'batch-jobs': { processed: 2, failed: 1, stoppedBy: 'idle', remaining: 0 } },
      });
    });

    it('puts the request id on every line of a request', async () => {
      const http = await startLogging();
      await queues.add('seed-jobs', 1);

      await http
        .post(DRAIN_PATH)
        .set('Authorization', `Bearer ${TEST_TOKEN}`)
        .set('X-Request-Id', 'trace-7')
        .expect(200);
      await http.post(DRAIN_PATH).set('X-Request-Id', 'trace-8').expect(401);

      const requestLines = capture.records.filter((record) =>
        ['DrainService', 'HTTP'].includes(String(record.context)),
      );
      expect(requestLines.length).toBeGreaterThanOrEqual(3);
      expect(requestLines.filter((record) => record.requestId === undefined)).toEqual([]);
      expect(summaries()[0]?.requestId).toBe('trace-7');
      expect(capture.records.find((record) => record.statusCode === 401)).toMatchObject({
        level: 'warn',
        context: 'HTTP',
        method: 'POST',
        path: DRAIN_PATH,
        requestId: 'trace-8',
      });
    });

    it('never writes a token or job data', async () => {
      const http = await startLogging();
      const marker = 'payload-marker-5c1e';
      const wrongToken = 'wrong-token-93ab1';
      await queues.add('dsar-jobs', 1, { note: marker });
      await queues.add('dsar-jobs', 1, { fail: true, note: marker });

      await http.post(DRAIN_PATH).set('X-Cron-Secret', wrongToken).expect(401);
      await http
        .get(DRAIN_PATH)
        .set('X-Cron-Token', TEST_TOKEN)
        .set('Authorization', `Bearer ${wrongToken}`)
        .expect(401);
      await http.post(DRAIN_PATH).set('Authorization', `Bearer ${TEST_TOKEN}`).expect(200);

      expect(summaries()).toHaveLength(1);
      const output = capture.lines.join('\n');
      expect(output).not.toContain(TEST_TOKEN);
      expect(output).not.toContain(wrongToken);
      expect(output).not.toContain(marker);
    });
  });

  describe('metrics', () => {
    /** Returns the value of one sample of the Prometheus text, or `undefined` when it is absent. */
    function sample(text: string, series: string): number | undefined {
      const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    }

    it('are off unless METRICS_ENABLED is set', async () => {
      const http = await start();

      await http.get(METRICS_PATH).expect(404);
    });

    it('count drain calls, jobs and responses', async () => {
      const http = await start({ METRICS_ENABLED: '1' });
      await queues.add('batch-jobs', 2);
      await queues.add('batch-jobs', 1, { fail: true });

      await http.post(DRAIN_PATH).expect(401);
      const drained = await http.post(DRAIN_PATH).set('Authorization', `Bearer ${TEST_TOKEN}`).expect(200);
      const response = await http.get(METRICS_PATH).expect(200);
      const text = response.text;

      expect(response.headers['content-type']).toContain('text/plain; version=0.0.4');
      expect(sample(text, 'cron_drain_calls_total{outcome="idle"}')).toBe(1);
      expect(sample(text, 'cron_drain_jobs_processed_total{queue="batch-jobs"}')).toBe(2);
      expect(sample(text, 'cron_drain_jobs_failed_total{queue="batch-jobs"}')).toBe(1);
      expect(sample(text, 'cron_drain_queue_remaining_jobs{queue="batch-jobs"}')).toBe(0);
      expect(sample(text, 'cron_drain_call_duration_seconds_count')).toBe(1);
      expect(sample(text, 'cron_drain_redis_commands_sum')).toBe(drained.body.redisCommands);
      expect(sample(text, 'cron_drain_http_responses_total{method="POST",status="401"}')).toBe(1);
      expect(sample(text, 'cron_drain_http_responses_total{method="POST",status="200"}')).toBe(1);
    });

    it('count failed calls by outcome', async () => {
      const http = await start({ METRICS_ENABLED: '1', REDIS_URL: undefined });

      await http.post(DRAIN_PATH).set('Authorization', `Bearer ${TEST_TOKEN}`).expect(500);
      const response = await http.get(METRICS_PATH).expect(200);

      expect(sample(response.text, 'cron_drain_calls_total{outcome="redisNotConfigured"}')).toBe(1);
    });

    it('send no Redis command when scraped', async () => {
      const http = await start({ METRICS_ENABLED: '1' });
      const recorder = await CommandRecorder.start(redis.url);
      try {
        recorder.reset();

        await http.get(METRICS_PATH).expect(200);
        await http.get(METRICS_PATH).expect(200);
        await recorder.mark();

        expect(recorder.count).toBe(0);
      } finally {
        await recorder.stop();
      }
    });

    it('require METRICS_TOKEN when it is set', async () => {
      const http = await start({ METRICS_ENABLED: '1', METRICS_TOKEN: 'metrics-token-4d2f' });

      await http.get(METRICS_PATH).expect(401);
      await http.get(METRICS_PATH).set('Authorization', 'Bearer wrong').expect(401);
      await http.get(METRICS_PATH).set('Authorization', `Bearer ${TEST_TOKEN}`).expect(401);
      await http.get(METRICS_PATH).set('Authorization', 'Bearer metrics-token-4d2f').expect(200);
    });
  });
});
