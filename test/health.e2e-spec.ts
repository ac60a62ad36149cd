import request from 'supertest';

import { CommandRecorder } from './support/queues';
import { RedisServer } from './support/redis-server';
import { createTestApp, type TestApp } from './support/test-app';
import { uniquePrefix, useTestRedis, type TestRedis } from './support/test-redis';

const LIVENESS_PATH = '/api/v1/health';
const READINESS_PATH = '/api/v1/health/ready';

describe('health endpoints', () => {
  let redis: TestRedis;
  let testApp: TestApp | undefined;
  let recorder: CommandRecorder;

  beforeAll(async () => {
    redis = await useTestRedis();
  });

  afterAll(async () => {
    await redis.stop();
  });

  beforeEach(async () => {
    recorder = await CommandRecorder.start(redis.url);
    recorder.reset();
  });

  afterEach(async () => {
    await recorder.stop();
    await testApp?.close();
    testApp = undefined;
  });

  async function start(env: Record<string, string | undefined>): Promise<ReturnType<typeof request>> {
    testApp = await createTestApp({ QUEUE_KEY_PREFIX: uniquePrefix(), ...env });
    return request(testApp.app.getHttpServer());
  }

  /** Commands that clients sent to the test Redis since the last reset. */
  async function commandsSent(): Promise<number> {
    await recorder.mark();
    return recorder.count;
  }

  describe('liveness', () => {
    it('answers 200 without a token or a Redis command', async () => {
      const http = await start({ REDIS_URL: redis.url });

      const response = await http.get(LIVENESS_PATH).expect(200);

      expect(response.body).toMatchObject({ status: 'ok' });
      expect(await commandsSent()).toBe(0);
    });

    it('answers 200 when REDIS_URL is not set', async () => {
      const http = await start({ REDIS_URL: undefined });

      await http.get(LIVENESS_PATH).expect(200);
    });

    it('is not limited by the drain rate limit', async () => {
      const http = await start({ REDIS_URL: redis.url, DRAIN_QUEUES_RATE_LIMIT: '1' });

      for (let call = 0; call < 5; call += 1) {
        await http.get(LIVENESS_PATH).expect(200);
      }
      await http.post('/api/v1/cron/drain-queues').expect(401);
      await http.post('/api/v1/cron/drain-queues').expect(429);
    });
  });

  describe('readiness', () => {
    it('sends one Redis command for a fresh check', async () => {
      const http = await start({ REDIS_URL: redis.url, HEALTH_READY_CACHE_MS: '0' });

      const response = await http.get(READINESS_PATH).expect(200);

      expect(response.body).toMatchObject({ status: 'ok', details: { redis: { status: 'up' } } });
      expect(await commandsSent()).toBe(1);
      expect(recorder.commands.filter((command) => !command.startsWith('echo mark-'))).toEqual(['ping']);
    });

    it('reuses a result within HEALTH_READY_CACHE_MS', async () => {
      const http = await start({ REDIS_URL: redis.url, HEALTH_READY_CACHE_MS: '60000' });

      await http.get(READINESS_PATH).expect(200);
      const cached = await http.get(READINESS_PATH).expect(200);
      await http.get(READINESS_PATH).expect(200);

      expect(cached.body.details.redis).toMatchObject({ status: 'up', cachedResponse: true });
      expect(await commandsSent()).toBe(1);
    });

    it('checks again on every call when the cache is off', async () => {
      const http = await start({ REDIS_URL: redis.url, HEALTH_READY_CACHE_MS: '0' });

      await http.get(READINESS_PATH).expect(200);
      await http.get(READINESS_PATH).expect(200);

      expect(await commandsSent()).toBe(2);
    });

    it('answers 503 when REDIS_URL is not set', async () => {
      const http = await start({ REDIS_URL: undefined });

      const response = await http.get(READINESS_PATH).expect(503);

      expect(response.body).toMatchObject({
        status: 'error',
        error: { redis: { status: 'down', message: 'REDIS_URL is not configured.' } },
      });
    });

    it('answers 503 without the Redis address when Redis is unreachable', async () => {
      const stopped = await RedisServer.start();
      await stopped.stop();
      const http = await start({ REDIS_URL: stopped.url, HEALTH_READY_CACHE_MS: '0' });

      const response = await http.get(READINESS_PATH).expect(503);

      expect(response.body.error.redis).toMatchObject({ status: 'down', message: 'Redis did not respond to PING.' });
      expect(JSON.stringify(response.body)).not.toContain(String(stopped.port));
    });
  });
});
