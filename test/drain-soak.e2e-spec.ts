import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { Redis } from 'ioredis';
import request from 'supertest';

import { TestQueues } from './support/queues';
import { createTestApp, TEST_TOKEN, type TestApp } from './support/test-app';
import { uniquePrefix, useTestRedis, type TestRedis } from './support/test-redis';
import { waitUntil } from './support/wait-until';

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

interface Footprint {
  readonly heapUsedBytes: number;
  readonly resources: string;
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

  /** Heap after a full collection, this process's timers and sockets, and Redis's client count. */
  async function footprint(): Promise<Footprint> {
    collectGarbage();
    collectGarbage();
    const resources = process
      .getActiveResourcesInfo()
      .filter((type) => type === 'Timeout' || type === 'TCPSocketWrap')
      .sort()
      .join(',');
    const info = await observer.info('clients');
    return {
      heapUsedBytes: process.memoryUsage().heapUsed,
      resources,
      redisClients: Number(/connected_clients:(\d+)/.exec(info)?.[1]),
    };
  }

  /** Waits until the sockets of the last HTTP call have closed. */
  async function settledFootprint(): Promise<Footprint> {
    let latest = await footprint();
    await waitUntil(
      async () => {
        const previous = latest;
        latest = await footprint();
        return latest.resources === previous.resources && latest.redisClients === previous.redisClients;
      },
      'the last call has closed its sockets',
      // Generous, because each sample runs two full garbage collections,
      // which take long on a loaded machine.
      30_000,
      50,
    );
    return latest;
  }

  it('keep memory, timers, sockets and Redis clients flat', async () => {
    await queues.add('dsar-jobs', WARM_UP_CALLS + MEASURED_CALLS);
    await drainOneJobEach(WARM_UP_CALLS);
    const before = await settledFootprint();

    await drainOneJobEach(MEASURED_CALLS);
    const after = await settledFootprint();

    expect(await queues.counts('dsar-jobs')).toMatchObject({ completed: WARM_UP_CALLS + MEASURED_CALLS, wait: 0 });
    expect(after.resources).toBe(before.resources);
    expect(after.redisClients).toBe(before.redisClients);
    const growthPerCall = (after.heapUsedBytes - before.heapUsedBytes) / MEASURED_CALLS;
    expect(growthPerCall).toBeLessThan(MAX_HEAP_GROWTH_PER_CALL_BYTES);
  });
});
