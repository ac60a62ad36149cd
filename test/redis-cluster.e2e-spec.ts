import { Redis, type Cluster } from 'ioredis';
import request from 'supertest';

import type { DrainResult, QueueDrainResult } from '../src/cron/drain-result';
import { RedisSlidingWindowStorage } from '../src/cron/rate-limit/redis-sliding-window.storage';
import { QUEUE_NAMES } from '../src/queues/queue-names';
import { DRAIN_PATH } from './support/drain-fixture';
import { addAndAwaitCompletion, JobEvents } from './support/job-events';
import { CommandRecorder, TestQueues } from './support/queues';
import { RedisCluster } from './support/redis-cluster';
import { RedisServer } from './support/redis-server';
import { createTestApp, TEST_TOKEN, type TestApp } from './support/test-app';
import { uniquePrefix } from './support/test-redis';
import { waitUntil } from './support/wait-until';

jest.setTimeout(60_000);

const READINESS_PATH = '/api/v1/health/ready';

/**
 * Commands that connecting to a cluster adds to a drain call without a
 * password: CLIENT SETNAME and CLUSTER SLOTS on the connection that reads the
 * slot map.
 */
const CLUSTER_HANDSHAKE_COMMANDS = 2;

/**
 * Returns a unique key prefix whose hash tag puts every key of a test in one
 * slot, served by a node other than the seed. A client that ignored the slot
 * map and sent everything to the seed would then get MOVED errors.
 */
async function clusterPrefix(cluster: RedisCluster): Promise<string> {
  for (;;) {
    const prefix = `{${uniquePrefix()}}`;
    if ((await cluster.portServing(`${prefix}:any`)) !== cluster.nodes[0]!.port) {
      return prefix;
    }
  }
}

/** Adds jobs to all five queues: two that complete in each, one that fails and one delayed by 45 s. */
async function addMixedJobs(queues: TestQueues): Promise<void> {
  for (const queue of QUEUE_NAMES) {
    await queues.add(queue, 2, { workMs: 0 });
  }
  await queues.add('dsar-jobs', 1, { fail: true });
  await queues.add('journey-jobs', 1, {}, { delay: 45_000 });
}

function drain(testApp: TestApp, query: Record<string, string | number> = {}): request.Test {
  return request(testApp.app.getHttpServer())
    .post(DRAIN_PATH)
    .query(query)
    .set('Authorization', `Bearer ${TEST_TOKEN}`);
}

/** Drops the fields that depend on timing, so that two calls over the same jobs compare equal. */
function withoutTiming(
  queues: DrainResult['queues'],
): Record<string, Omit<QueueDrainResult, 'idleAt' | 'nextDueInMs'>> {
  return Object.fromEntries(
    Object.entries(queues).map(([queue, { idleAt: _idleAt, nextDueInMs: _nextDueInMs, ...rest }]) => [queue, rest]),
  );
}

describe('Redis Cluster', () => {
  let cluster: RedisCluster;
  let client: Cluster;

  beforeAll(async () => {
    cluster = await RedisCluster.start(3);
    client = cluster.client();
  });

  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  describe('drain', () => {
    let prefix: string;
    let testApp: TestApp;
    let queues: TestQueues;
    let recorders: CommandRecorder[] = [];

    beforeEach(async () => {
      prefix = await clusterPrefix(cluster);
      queues = new TestQueues(client, prefix);
      testApp = await createTestApp({
        REDIS_URL: cluster.url,
        REDIS_CLUSTER: '1',
        QUEUE_KEY_PREFIX: prefix,
        HEALTH_READY_CACHE_MS: '0',
      });
    });

    afterEach(async () => {
      await Promise.all(recorders.map((recorder) => recorder.stop()));
      recorders = [];
      await queues.close();
      await testApp.close();
    });

    it('processes jobs in all five queues as on a single node', async () => {
      await addMixedJobs(queues);
      recorders = await Promise.all(cluster.nodes.map((node) => CommandRecorder.start(node.url)));
      recorders.forEach((recorder) => recorder.reset());

      const response = await drain(testApp).expect(200);
      await Promise.all(recorders.map((recorder) => recorder.mark()));
      const commands = recorders.flatMap((recorder) => recorder.commands);

      const result = response.body as DrainResult;
      const single = await drainOnSingleNode();
      expect(result.stoppedBy).toBe('idle');
      expect(withoutTiming(result.queues)).toEqual(withoutTiming(single.queues));
      for (const queue of QUEUE_NAMES) {
        expect(result.queues[queue]).toMatchObject({ processed: 2, remaining: 0, stoppedBy: 'idle' });
      }
      expect(result.queues['dsar-jobs']).toMatchObject({ failed: 1 });
      expect(result.queues['journey-jobs']).toMatchObject({ delayed: 1 });
      expect(result.queues['journey-jobs']?.nextDueInMs).toBeGreaterThan(40_000);
      expect(await queues.counts('dsar-jobs')).toMatchObject({ completed: 2, failed: 1, wait: 0 });
      expect(await queues.counts('journey-jobs')).toMatchObject({ completed: 2, delayed: 1, wait: 0 });

      expect(result.redisCommands).toBe(commands.length);
      expect(result.redisCommands).toBe(single.redisCommands + CLUSTER_HANDSHAKE_COMMANDS);
      expect(commands.filter((command) => /^cluster slots/i.test(command))).toHaveLength(1);
    });

    it('answers an idle call with the probe and the handshake', async () => {
      const response = await drain(testApp).expect(200);

      expect((response.body as DrainResult).redisCommands).toBe(1 + CLUSTER_HANDSHAKE_COMMANDS);
    });

    it('reports Redis as ready with the handshake and PING', async () => {
      recorders = await Promise.all(cluster.nodes.map((node) => CommandRecorder.start(node.url)));
      recorders.forEach((recorder) => recorder.reset());

      await request(testApp.app.getHttpServer()).get(READINESS_PATH).expect(200);
      await Promise.all(recorders.map((recorder) => recorder.mark()));

      const commands = recorders.flatMap((recorder) => recorder.commands.map((command) => command.split(' ')[0]));
      expect(commands.sort()).toEqual(['client', 'cluster', 'ping']);
    });
  });

  describe('always-on workers', () => {
    it('process a new job without a drain call', async () => {
      const prefix = await clusterPrefix(cluster);
      const queues = new TestQueues(client, prefix);
      const testApp = await createTestApp({
        REDIS_URL: cluster.url,
        REDIS_CLUSTER: '1',
        QUEUE_KEY_PREFIX: prefix,
        WORKER_INPROCESS: '1',
      });
      const events = await JobEvents.start(client, prefix, 'journey-jobs');
      try {
        // An idle worker blocks in BZPOPMIN for up to 300 s. Only the marker
        // that BullMQ adds with a job wakes it sooner.
        await waitUntil(
          async () => (await blockedWorkers(cluster, prefix)) === QUEUE_NAMES.length,
          'every worker is blocked',
        );

        const job = await queues.get('journey-jobs').add('new', { workMs: 0 });
        await events.waitFor('completed', job);

        expect(await queues.get('journey-jobs').getJobState(job.id!)).toBe('completed');
      } finally {
        await events.close();
        await queues.close();
        await testApp.close();
      }
    });
  });

  describe('redis rate-limit store', () => {
    it('shares one window across clients', async () => {
      const prefix = await clusterPrefix(cluster);
      const now = 1_700_000_000_000;
      const first = new RedisSlidingWindowStorage({ url: cluster.url, cluster: true }, prefix, () => now);
      const second = new RedisSlidingWindowStorage({ url: cluster.url, cluster: true }, prefix, () => now);
      try {
        expect(await first.increment('client', 60_000, 2)).toMatchObject({ totalHits: 1, isBlocked: false });
        expect(await second.increment('client', 60_000, 2)).toMatchObject({ totalHits: 2, isBlocked: false });
        expect(await first.increment('client', 60_000, 2)).toMatchObject({ isBlocked: true });
        expect(await client.zcard(`${prefix}:drain-rate-limit:client`)).toBe(2);
      } finally {
        first.onApplicationShutdown();
        second.onApplicationShutdown();
      }
    });
  });
});

describe('Redis Cluster with a password', () => {
  const password = 'cluster-secret';
  let cluster: RedisCluster;
  let client: Cluster;
  let prefix: string;
  let queues: TestQueues;

  beforeAll(async () => {
    cluster = await RedisCluster.start(3, { password });
    client = cluster.client();
  });

  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  beforeEach(async () => {
    prefix = await clusterPrefix(cluster);
    queues = new TestQueues(client, prefix);
  });

  afterEach(async () => {
    await queues.close();
  });

  it('drains with the URL password on every node', async () => {
    const testApp = await createTestApp({ REDIS_URL: cluster.url, REDIS_CLUSTER: '1', QUEUE_KEY_PREFIX: prefix });
    try {
      await addMixedJobs(queues);

      const response = await drain(testApp).expect(200);
      const idle = await drain(testApp).expect(200);

      const result = response.body as DrainResult;
      for (const queue of QUEUE_NAMES) {
        expect(result.queues[queue]).toMatchObject({ processed: 2, remaining: 0, stoppedBy: 'idle' });
      }
      expect(result.queues['dsar-jobs']).toMatchObject({ failed: 1 });
      // AUTH on the connection that reads the slot map and on the node's.
      expect((idle.body as DrainResult).redisCommands).toBe(1 + CLUSTER_HANDSHAKE_COMMANDS + 2);
      expect(JSON.stringify([response.body, idle.body])).not.toContain(password);
    } finally {
      await testApp.close();
    }
  });

  it('runs always-on workers with the URL password', async () => {
    const testApp = await createTestApp({
      REDIS_URL: cluster.url,
      REDIS_CLUSTER: '1',
      QUEUE_KEY_PREFIX: prefix,
      WORKER_INPROCESS: '1',
    });
    try {
      const job = await addAndAwaitCompletion(client, queues, 'seed-jobs');

      expect(await queues.get('seed-jobs').getJobState(job.id!)).toBe('completed');
    } finally {
      await testApp.close();
    }
  });

  it('answers 503 to a URL with a wrong password', async () => {
    const url = cluster.url.replace(encodeURIComponent(password), 'wrong-password');
    const testApp = await createTestApp({ REDIS_URL: url, REDIS_CLUSTER: '1', QUEUE_KEY_PREFIX: prefix });
    try {
      const response = await drain(testApp).expect(503);

      expect(JSON.stringify(response.body)).not.toContain('wrong-password');
    } finally {
      await testApp.close();
    }
  });
});

describe('Redis Cluster whose nodes are all stopped', () => {
  let cluster: RedisCluster;
  let testApp: TestApp;

  beforeAll(async () => {
    cluster = await RedisCluster.start(3);
    testApp = await createTestApp({
      REDIS_URL: cluster.url,
      REDIS_CLUSTER: '1',
      QUEUE_KEY_PREFIX: await clusterPrefix(cluster),
      HEALTH_READY_CACHE_MS: '0',
    });
  });

  afterAll(async () => {
    await testApp?.close();
    await cluster?.stop();
  });

  it('answers a drain with 503 within its deadline', async () => {
    await drain(testApp).expect(200);
    await cluster.stop();

    const maxDurationMs = 5_000;
    const startedAt = Date.now();
    const response = await drain(testApp, { maxDurationMs }).expect(503);

    expect(Date.now() - startedAt).toBeLessThan(maxDurationMs);
    expect(JSON.stringify(response.body)).toContain('Redis is unavailable');
    await request(testApp.app.getHttpServer()).get(READINESS_PATH).expect(503);
  });
});

/**
 * Runs the drain of the first test on a single server with the same jobs and
 * returns its result, to compare with the cluster's.
 */
async function drainOnSingleNode(): Promise<DrainResult> {
  const server = await RedisServer.start();
  const prefix = uniquePrefix();
  const queues = new TestQueues(server.url, prefix);
  const testApp = await createTestApp({ REDIS_URL: server.url, QUEUE_KEY_PREFIX: prefix });
  try {
    await addMixedJobs(queues);
    await queues.close();
    const response = await drain(testApp).expect(200);
    return response.body as DrainResult;
  } finally {
    await queues.close();
    await testApp.close();
    await server.stop();
  }
}

/** Counts the connections of the workers under `prefix` that wait in BZPOPMIN, on every node. */
async function blockedWorkers(cluster: RedisCluster, prefix: string): Promise<number> {
  const counts = await Promise.all(
    cluster.nodes.map(async (node) => {
      const nodeClient = new Redis(node.url);
      try {
        const list = String(await nodeClient.client('LIST'));
        return list.split('\n').filter((line) => line.includes(`name=${prefix}:`) && line.includes('cmd=bzpopmin'))
          .length;
      } finally {
        nodeClient.disconnect();
      }
    }),
  );
  return counts.reduce((sum, count) => sum + count, 0);
}
