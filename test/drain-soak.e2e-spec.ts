import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { Redis } from 'ioredis';
import request from 'supertest';

import { TestQueues } from './support/queues';
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

/** Samples taken for the footprint before the measured calls. */
const BASELINE_SAMPLES = 20;
const SAMPLE_INTERVAL_MS = 50;
/** How long the footprint may take to fall back after the last call. */
const SETTLE_TIMEOUT_MS = 30_000;

interface Footprint {
  readonly heapUsedBytes: number;
  /** Active timers and TCP sockets of this process. */
  readonly timers: number;
  readonly sockets: number;
  readonly redisClients: number;
}

function exceeds(footprint: Footprint, baseline: Footprint): boolean {
  return (
    footprint.timers > baseline.timers ||
    footprint.sockets > baseline.sockets ||
    footprint.redisClients > baseline.redisClients
  );
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
    const resources = process.getActiveResourcesInfo();
    const info = await observer.info('clients');
    return {
      heapUsedBytes: process.memoryUsage().heapUsed,
      timers: resources.filter((type) => type === 'Timeout').length,
      sockets: resources.filter((type) => type === 'TCPSocketWrap').length,
      redisClients: Number(/connected_clients:(\d+)/.exec(info)?.[1]),
    };
  }

  /**
   * Returns the lowest of each count over a series of samples. Jest may run
   * test files in band, in this process, and its reporter's timers come and go
   * while the samples are taken. The minimum is the steady state.
   */
  async function lowestFootprint(): Promise<Footprint> {
    const samples: Footprint[] = [];
    for (let sample = 0; sample < BASELINE_SAMPLES; sample += 1) {
      samples.push(await footprint());
      await sleep(SAMPLE_INTERVAL_MS);
    }
    const lowest = (count: (footprint: Footprint) => number): number => Math.min(...samples.map(count));
    return {
      heapUsedBytes: lowest((footprint) => footprint.heapUsedBytes),
      timers: lowest((footprint) => footprint.timers),
      sockets: lowest((footprint) => footprint.sockets),
      redisClients: lowest((footprint) => footprint.redisClients),
    };
  }

  /**
   * Samples the footprint until no count is above `baseline`, or the settle
   * timeout passes.
   * A call that leaves a timer, socket or Redis client behind keeps the
   * footprint above it, and the test's assertions name the count.
   */
  async function footprintBackTo(baseline: Footprint): Promise<Footprint> {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    let latest = await footprint();
    while (exceeds(latest, baseline) && Date.now() < deadline) {
      await sleep(SAMPLE_INTERVAL_MS);
      latest = await footprint();
    }
    return latest;
  }

  it('keep memory, timers, sockets and Redis clients flat', async () => {
    await queues.add('dsar-jobs', WARM_UP_CALLS + MEASURED_CALLS);
    await drainOneJobEach(WARM_UP_CALLS);
    const before = await lowestFootprint();

    await drainOneJobEach(MEASURED_CALLS);
    const after = await footprintBackTo(before);

    expect(await queues.counts('dsar-jobs')).toMatchObject({ completed: WARM_UP_CALLS + MEASURED_CALLS, wait: 0 });
    expect(after.timers).toBeLessThanOrEqual(before.timers);
    expect(after.sockets).toBeLessThanOrEqual(before.sockets);
    expect(after.redisClients).toBeLessThanOrEqual(before.redisClients);
    const growthPerCall = (after.heapUsedBytes - before.heapUsedBytes) / MEASURED_CALLS;
    expect(growthPerCall).toBeLessThan(MAX_HEAP_GROWTH_PER_CALL_BYTES);
  });
});
