import { RedisServer } from './support/redis-server';
import { CommandRecorder } from './support/queues';
import { listenOnLoopback, sendRaw, type ListeningApp, type RawHeader } from './support/raw-request';
import { TEST_TOKEN, createTestApp, type TestApp } from './support/test-app';
import { uniquePrefix, useTestRedis, type TestRedis } from './support/test-redis';

const DRAIN_PATH = '/api/v1/cron/drain-queues';
const ALLOWED = '203.0.113.7';
const NOT_ALLOWED = '198.51.100.1';
const RIGHT_TOKEN: RawHeader = ['X-Cron-Secret', TEST_TOKEN];
const WRONG_TOKEN: RawHeader = ['X-Cron-Secret', 'wrong'];
const BAD_QUERY = `${DRAIN_PATH}?maxDurationMs=1e3`;

describe('drain endpoint order of checks', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await useTestRedis();
  });

  afterAll(async () => {
    await redis.stop();
  });

  describe('when requests fail the checks one after another', () => {
    let testApp: TestApp;
    let target: ListeningApp;
    let recorder: CommandRecorder;

    beforeEach(async () => {
      recorder = await CommandRecorder.start(redis.url);
      testApp = await createTestApp({
        REDIS_URL: redis.url,
        QUEUE_KEY_PREFIX: uniquePrefix(),
        DRAIN_QUEUES_RATE_LIMIT: '3',
        CRON_ALLOWED_IPS: ALLOWED,
      });
      target = await listenOnLoopback(testApp.app);
    });

    afterEach(async () => {
      await testApp.close();
      await recorder.stop();
    });

    const send = (client: string, headers: RawHeader[], path = DRAIN_PATH) =>
      sendRaw(target, 'POST', path, [['X-Forwarded-For', client], ...headers]);

    it('should respond with 403, 401, 400, then 429, and send no Redis command', async () => {
      recorder.reset();

      const statuses = [
        (await send(NOT_ALLOWED, [WRONG_TOKEN], BAD_QUERY)).status,
        (await send(ALLOWED, [WRONG_TOKEN], BAD_QUERY)).status,
        (await send(ALLOWED, [RIGHT_TOKEN], BAD_QUERY)).status,
        (await send(ALLOWED, [], BAD_QUERY)).status,
        (await send(ALLOWED, [RIGHT_TOKEN])).status,
        (await send(NOT_ALLOWED, [RIGHT_TOKEN])).status,
      ];
      await recorder.mark();

      expect(statuses).toEqual([403, 401, 400, 401, 429, 403]);
      expect(recorder.commands.filter((command) => !/^echo mark-/i.test(command))).toEqual([]);
    });

    it('should send no Redis command while idle', async () => {
      recorder.reset();
      await recorder.mark();

      expect(recorder.count).toBe(0);
    });

    it('should reach Redis once every check has passed', async () => {
      recorder.reset();

      const response = await send(ALLOWED, [RIGHT_TOKEN]);
      await recorder.mark();

      expect(response.status).toBe(200);
      expect(recorder.count).toBeGreaterThan(0);
    });
  });

  describe('when REDIS_URL is not configured', () => {
    it('should respond with 500 only after the other checks pass', async () => {
      const testApp = await createTestApp({ REDIS_URL: undefined, DRAIN_QUEUES_RATE_LIMIT: '3' });
      try {
        const target = await listenOnLoopback(testApp.app);

        const badQuery = await sendRaw(target, 'POST', BAD_QUERY, [RIGHT_TOKEN]);
        const valid = await sendRaw(target, 'POST', DRAIN_PATH, [RIGHT_TOKEN]);

        expect(badQuery.status).toBe(400);
        expect(valid.status).toBe(500);
        expect(valid.body.message).toContain('REDIS_URL is not configured');
      } finally {
        await testApp.close();
      }
    });
  });

  describe('when Redis is unreachable', () => {
    it('should respond with 503 with Retry-After only after the other checks pass', async () => {
      const stopped = await RedisServer.start();
      await stopped.stop();
      const testApp = await createTestApp({ REDIS_URL: stopped.url, DRAIN_QUEUES_RATE_LIMIT: '3' });
      try {
        const target = await listenOnLoopback(testApp.app);

        const wrongToken = await sendRaw(target, 'POST', DRAIN_PATH, [WRONG_TOKEN]);
        const valid = await sendRaw(target, 'POST', DRAIN_PATH, [RIGHT_TOKEN]);

        expect(wrongToken.status).toBe(401);
        expect(valid.status).toBe(503);
        expect(valid.headers['retry-after']).toBeDefined();
      } finally {
        await testApp.close();
      }
    });
  });
});
