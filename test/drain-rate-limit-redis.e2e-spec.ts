import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';

import { InMemorySlidingWindowStorage } from '../src/cron/rate-limit/in-memory-sliding-window.storage';
import { RateLimitStoreUnavailableError } from '../src/cron/rate-limit/rate-limit.errors';
import { RedisSlidingWindowStorage } from '../src/cron/rate-limit/redis-sliding-window.storage';
import { CommandRecorder } from './support/queues';
import { RedisServer } from './support/redis-server';
import { listenOnLoopback, sendRaw, type ListeningApp } from './support/raw-request';
import { createTestApp, type TestApp } from './support/test-app';
import { uniquePrefix, useTestRedis, type TestRedis } from './support/test-redis';

const DRAIN_PATH = '/api/v1/cron/drain-queues';
const WINDOW_MS = 60_000;

describe(RedisSlidingWindowStorage.name, () => {
  let redis: TestRedis;

  beforeAll(async () => {
    // The storage logs when Redis goes away and comes back; these tests cause both on purpose.
    Logger.overrideLogger(process.env.TEST_LOGS === '1' ? ['log', 'warn', 'error'] : false);
    redis = await useTestRedis();
  });

  afterAll(async () => {
    await redis.stop();
  });

  describe('when the clock is given', () => {
    let now: number;
    let sut: RedisSlidingWindowStorage;
    let reference: InMemorySlidingWindowStorage;

    beforeEach(() => {
      now = 1_700_000_000_000;
      sut = new RedisSlidingWindowStorage(redis.url, uniquePrefix(), () => now);
      reference = new InMemorySlidingWindowStorage(() => now);
    });

    afterEach(() => {
      sut.onApplicationShutdown();
      reference.onApplicationShutdown();
    });

    it('should return what the in-memory window returns', async () => {
      const steps: [offsetMs: number, key: string][] = [
        [0, 'a'],
        [10_000, 'a'],
        [20_000, 'a'],
        [20_000, 'b'],
        [30_000, 'a'],
        [59_999, 'a'],
        [60_000, 'a'],
        [60_000, 'a'],
        [70_000, 'a'],
        [70_001, 'a'],
        [130_000, 'a'],
        [130_000, 'b'],
      ];
      const start = now;
      for (const [offsetMs, key] of steps) {
        now = start + offsetMs;
        const expected = await reference.increment(key, WINDOW_MS, 2);

        expect(await sut.increment(key, WINDOW_MS, 2)).toEqual(expected);
      }
    });
  });

  describe('when another replica fills the window', () => {
    it('should block until the oldest hit leaves, then admit', async () => {
      const prefix = uniquePrefix();
      let now = 1_700_000_000_000;
      const start = now;
      const first = new RedisSlidingWindowStorage(redis.url, prefix, () => now);
      const second = new RedisSlidingWindowStorage(redis.url, prefix, () => now);
      try {
        await first.increment('client', WINDOW_MS, 2);
        now = start + 20_000;
        await first.increment('client', WINDOW_MS, 2);

        now = start + 30_000;
        const blocked = await second.increment('client', WINDOW_MS, 2);
        now = start + 59_999;
        const stillBlocked = await second.increment('client', WINDOW_MS, 2);
        now = start + 60_000;
        const admitted = await second.increment('client', WINDOW_MS, 2);

        expect(blocked).toMatchObject({ isBlocked: true, timeToBlockExpire: 30 });
        expect(stillBlocked).toMatchObject({ isBlocked: true, timeToBlockExpire: 1 });
        expect(admitted).toMatchObject({ isBlocked: false, totalHits: 2 });
      } finally {
        first.onApplicationShutdown();
        second.onApplicationShutdown();
      }
    });
  });

  describe('when the Redis clock is used', () => {
    it('should block the request over the limit until the first leaves the window', async () => {
      const sut = new RedisSlidingWindowStorage(redis.url, uniquePrefix());
      try {
        const first = await sut.increment('client', WINDOW_MS, 1);
        const second = await sut.increment('client', WINDOW_MS, 1);

        expect(first).toMatchObject({ totalHits: 1, isBlocked: false });
        expect(second.isBlocked).toBe(true);
        expect(second.timeToBlockExpire).toBeGreaterThanOrEqual(1);
        expect(second.timeToBlockExpire).toBeLessThanOrEqual(60);
      } finally {
        sut.onApplicationShutdown();
      }
    });
  });

  describe('when a request is counted', () => {
    it('should send one command and keep one key that expires with the window', async () => {
      const prefix = uniquePrefix();
      const sut = new RedisSlidingWindowStorage(redis.url, prefix);
      const inspector = new Redis(redis.url);
      await inspector.ping();
      const recorder = await CommandRecorder.start(redis.url);
      try {
        recorder.reset();
        await sut.increment('client-key', WINDOW_MS, 5);
        await sut.increment('client-key', WINDOW_MS, 5);
        await recorder.mark();

        expect(recorder.commands.filter((command) => !/^echo mark-/i.test(command)).map(commandName)).toEqual([
          'eval',
          'eval',
        ]);
        expect(await inspector.keys(`${prefix}:*`)).toEqual([`${prefix}:drain-rate-limit:client-key`]);
        const ttl = await inspector.pttl(`${prefix}:drain-rate-limit:client-key`);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(WINDOW_MS);
      } finally {
        sut.onApplicationShutdown();
        inspector.disconnect();
        await recorder.stop();
      }
    });
  });

  describe('when Redis is down', () => {
    it('should throw a defined error within the timeout, then recover', async () => {
      const server = await RedisServer.start();
      const sut = new RedisSlidingWindowStorage(server.url, uniquePrefix());
      try {
        await sut.increment('client', WINDOW_MS, 5);
        await server.stop();

        await expect(sut.increment('client', WINDOW_MS, 5)).rejects.toBeInstanceOf(RateLimitStoreUnavailableError);

        await server.restart();
        await expect(eventually(() => sut.increment('client', WINDOW_MS, 5))).resolves.toMatchObject({
          isBlocked: false,
        });
      } finally {
        sut.onApplicationShutdown();
        await server.stop();
      }
    });

    it('should throw a defined error when Redis was never reachable', async () => {
      const server = await RedisServer.start();
      await server.stop();
      const sut = new RedisSlidingWindowStorage(server.url, uniquePrefix());
      try {
        await expect(sut.increment('client', WINDOW_MS, 5)).rejects.toBeInstanceOf(RateLimitStoreUnavailableError);
        await expect(sut.increment('client', WINDOW_MS, 5)).rejects.toBeInstanceOf(RateLimitStoreUnavailableError);
      } finally {
        sut.onApplicationShutdown();
      }
    });
  });
});

describe('drain endpoint with DRAIN_RATE_LIMIT_STORE=redis', () => {
  let server: RedisServer;

  beforeAll(async () => {
    server = await RedisServer.start();
  });

  afterAll(async () => {
    await server.stop();
  });

  async function startReplica(prefix: string): Promise<[TestApp, ListeningApp]> {
    const testApp = await createTestApp({
      REDIS_URL: server.url,
      QUEUE_KEY_PREFIX: prefix,
      DRAIN_RATE_LIMIT_STORE: 'redis',
      DRAIN_QUEUES_RATE_LIMIT: '2',
    });
    return [testApp, await listenOnLoopback(testApp.app)];
  }

  const from = (target: ListeningApp, client: string) =>
    sendRaw(target, 'POST', DRAIN_PATH, [['X-Forwarded-For', client]]);

  it('should share one window between replicas', async () => {
    const prefix = uniquePrefix();
    const [first, firstTarget] = await startReplica(prefix);
    const [second, secondTarget] = await startReplica(prefix);
    try {
      const statuses = [
        (await from(firstTarget, '203.0.113.7')).status,
        (await from(secondTarget, '203.0.113.7')).status,
        (await from(firstTarget, '203.0.113.7')).status,
        (await from(secondTarget, '203.0.113.8')).status,
      ];

      expect(statuses).toEqual([401, 401, 429, 401]);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('should send nothing while idle and one command per counted request', async () => {
    const recorder = await CommandRecorder.start(server.url);
    const [testApp, target] = await startReplica(uniquePrefix());
    try {
      recorder.reset();
      await recorder.mark();
      const idle = recorder.count;

      recorder.reset();
      await from(target, '203.0.113.7');
      await from(target, '203.0.113.7');
      await recorder.mark();
      const admitted = recorder.count;

      recorder.reset();
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 10; attempt++) {
        statuses.push((await from(target, '203.0.113.7')).status);
      }
      await recorder.mark();

      expect(idle).toBe(0);
      expect(admitted).toBe(2);
      expect(statuses).toEqual(Array.from({ length: 10 }, () => 429));
      expect(recorder.count).toBe(1);
    } finally {
      await testApp.close();
      await recorder.stop();
    }
  });

  it('should respond with 503 with Retry-After while Redis is down, then count again', async () => {
    const own = await RedisServer.start();
    const testApp = await createTestApp({
      REDIS_URL: own.url,
      DRAIN_RATE_LIMIT_STORE: 'redis',
      DRAIN_QUEUES_RATE_LIMIT: '5',
    });
    try {
      const target = await listenOnLoopback(testApp.app);
      const before = await from(target, '203.0.113.7');
      await own.stop();

      const during = await from(target, '203.0.113.7');
      await own.restart();
      const after = await eventually(async () => {
        const response = await from(target, '203.0.113.7');
        if (response.status === 503) {
          throw new Error('Redis has not reconnected yet.');
        }
        return response;
      });

      expect(before.status).toBe(401);
      expect(during.status).toBe(503);
      expect(during.headers['retry-after']).toBe('30');
      expect(during.body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message:
          'The rate-limit window in Redis is unavailable, so the request was rejected and no job was processed. Retry later.',
      });
      expect(after.status).toBe(401);
    } finally {
      await testApp.close();
      await own.stop();
    }
  });
});

function commandName(command: string): string {
  return command.split(' ')[0]!.toLowerCase();
}

/**
 * Retries `action` until it succeeds or 10 s pass. ioredis reconnects on its
 * own schedule and emits no event that a storage user can await, so a poll
 * with a deadline is the only way to wait for it.
 */
async function eventually<T>(action: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await action();
    } catch (error) {
      if (Date.now() > deadline) {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
