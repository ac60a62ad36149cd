import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { Redis } from 'ioredis';
import request from 'supertest';

import { TestQueues } from './support/queues';
import { countsBackTo, lowestCounts, openResources, type Counts } from './support/steady-state';
import { createTestApp, TEST_TOKEN, type TestApp } from './support/test-app';
import { uniquePrefix, useTestRedis, type TestRedis } from './support/test-redis';

jest.setTimeout(300_000);

const DRAIN_PATH = '/api/v1/cron/drain-queues';
const WARM_UP_CALLS = 100;
const MEASURED_CALLS = 900;
/**
 * Heap growth allowed per measured call. On Node 20 the heap grows by about
 * 1.5 KB per call over the first 1,000 calls (caches filling up) and then stays
 * flat; a call whose objects stay reachable (its worker, connection and jobs)
 * adds about 110 KB.
 */
const MAX_HEAP_GROWTH_PER_CALL_BYTES = 10_000;

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** How long the footprint may take to fall back after the last call. */
const SETTLE_TIMEOUT_MS = 30_000;

/** Heap, timers and sockets of this process, and Redis's client count. */
interface Footprint extends Counts {
  readonly heapUsedBytes: number;
  readonly timers: number;
  readonly sockets: number;
  readonly redisClients: number;
}

describe('1,000 sequential drain calls', () => {
  let redis: TestRedis;
  let testApp: TestApp;
  let queues: TestQueues;
  let observer: Redis;
  let baseUrl: string;

  beforeAll(async () => {
    redis = await useTestRedis();
    observer = new Redis(redis.url);
  });

  afterAll(async () => {
    observer.disconnect();
    await redis.stop();
  });

  beforeEach(async () => {
    const prefix = uniquePrefix();
    testApp = await createTestApp({ REDIS_URL: redis.url, QUEUE_KEY_PREFIX: prefix, DRAIN_QUEUES_RATE_LIMIT: '10000' });
    await testApp.app.listen(0, '127.0.0.1');
    baseUrl = await testApp.app.getUrl();
    queues = new TestQueues(redis.url, prefix);
  });

  afterEach(async () => {
    await queues.close();
    await testApp.close();
  });

  /** Calls the drain `count` times; each call processes one job, so each creates and closes a worker. */
  async function drainOneJobEach(count: number): Promise<void> {
    for (let call = 0; call < count; call += 1) {
      const response = await request(baseUrl)
        .post(DRAIN_PATH)
        .query({ queue: 'dsar-jobs', maxJobsPerQueue: 1 })
        .set('Authorization', `Bearer ${TEST_TOKEN}`)
        // Without keep-alive each call's socket closes with it, so the
        // footprint settles at once instead of after the server's idle timeout.
        .set('Connection', 'close')
        .expect(200);
      expect(response.body.queues['dsar-jobs'].processed).toBe(1);
    }
  }

  /** Takes the footprint after two full garbage collections. */
  async function footprint(): Promise<Footprint> {
    collectGarbage();
    collectGarbage();
    const info = await observer.info('clients');
    return {
      heapUsedBytes: process.memoryUsage().heapUsed,
      ...openResources(),
      redisClients: Number(/connected_clients:(\d+)/.exec(info)?.[1]),
    };
  }

  it('keep memory, timers, sockets and Redis clients flat', async () => {
    await queues.add('dsar-jobs', WARM_UP_CALLS + MEASURED_CALLS);
    await drainOneJobEach(WARM_UP_CALLS);
    const before = await lowestCounts(footprint);

    await drainOneJobEach(MEASURED_CALLS);
    const after = await countsBackTo(
      footprint,
      { timers: before.timers, sockets: before.sockets, redisClients: before.redisClients },
      SETTLE_TIMEOUT_MS,
    );

    expect(await queues.counts('dsar-jobs')).toMatchObject({ completed: WARM_UP_CALLS + MEASURED_CALLS, wait: 0 });
    expect(after.timers).toBeLessThanOrEqual(before.timers);
    expect(after.sockets).toBeLessThanOrEqual(before.sockets);
    expect(after.redisClients).toBeLessThanOrEqual(before.redisClients);
    const growthPerCall = (after.heapUsedBytes - before.heapUsedBytes) / MEASURED_CALLS;
    expect(growthPerCall).toBeLessThan(MAX_HEAP_GROWTH_PER_CALL_BYTES);
  });
});
