import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Redis, type Cluster } from 'ioredis';

import type { DrainResult } from '../src/cron/drain-result';
import { AppProcess } from './support/app-process';
import { createTestCertificate, type TestCertificate } from './support/certificate';
import { addAndAwaitCompletion } from './support/job-events';
import { TestQueues } from './support/queues';
import { RedisCluster } from './support/redis-cluster';
import { RedisServer } from './support/redis-server';
import { runCommand } from './support/shell';
import { uniquePrefix } from './support/test-redis';

jest.setTimeout(60_000);

const CLI = join(__dirname, '..', 'dist', 'cli.js');
const WORKERS_READY = 'Always-on workers started';

/**
 * A Redis that serves TLS only, with a certificate that no public CA signed,
 * as a private deployment has. The application trusts it through
 * NODE_EXTRA_CA_CERTS, which Node reads at start-up, so the application runs
 * as a child process of the built entry points.
 */
describe('Redis over TLS with a private CA', () => {
  let certificate: TestCertificate;

  beforeAll(async () => {
    certificate = await createTestCertificate();
  });

  afterAll(async () => {
    await certificate?.remove();
  });

  /** Runs the one-shot drain with `env` and returns its JSON result, or throws with its stderr. */
  async function drainWithCli(env: Record<string, string>): Promise<DrainResult> {
    const outcome = await runCommand(process.execPath, [CLI, 'drain'], { LOG_FORMAT: 'json', ...env });
    if (outcome.exitCode !== 0) {
      throw new Error(`The drain command exited with ${outcome.exitCode}:\n${outcome.stderr}`);
    }
    return JSON.parse(outcome.stdout) as DrainResult;
  }

  describe('on one server', () => {
    let server: RedisServer;
    let client: Redis;
    let prefix: string;
    let queues: TestQueues;

    beforeAll(async () => {
      server = await RedisServer.start({ tls: certificate });
      client = new Redis(server.url, { tls: { ca: readFileSync(certificate.caFile) }, maxRetriesPerRequest: null });
    });

    afterAll(async () => {
      client?.disconnect();
      await server?.stop();
    });

    beforeEach(() => {
      prefix = uniquePrefix();
      queues = new TestQueues(client, prefix);
    });

    afterEach(async () => {
      await queues.close();
    });

    it('drains when the CA is trusted', async () => {
      await queues.add('batch-jobs', 3);

      const result = await drainWithCli({
        REDIS_URL: server.url,
        QUEUE_KEY_PREFIX: prefix,
        NODE_EXTRA_CA_CERTS: certificate.caFile,
      });

      expect(result.queues['batch-jobs']).toMatchObject({ processed: 3, remaining: 0, stoppedBy: 'idle' });
      expect(await queues.counts('batch-jobs')).toMatchObject({ completed: 3, wait: 0, active: 0 });
    });

    it('adds no command to an idle call', async () => {
      const result = await drainWithCli({
        REDIS_URL: server.url,
        QUEUE_KEY_PREFIX: prefix,
        NODE_EXTRA_CA_CERTS: certificate.caFile,
      });

      expect(result.redisCommands).toBe(1);
    });

    it('rejects the certificate when the CA is not trusted', async () => {
      await queues.add('batch-jobs', 1);

      const outcome = await runCommand(process.execPath, [CLI, 'drain'], {
        REDIS_URL: server.url,
        QUEUE_KEY_PREFIX: prefix,
        LOG_FORMAT: 'json',
      });

      expect(outcome.exitCode).toBe(75);
      expect(outcome.stderr).toMatch(/certificate/i);
      expect(await queues.counts('batch-jobs')).toMatchObject({ wait: 1, completed: 0 });
    });
  });

  describe('on a Redis Cluster', () => {
    let cluster: RedisCluster;
    let client: Cluster;
    let prefix: string;
    let queues: TestQueues;
    const processes: AppProcess[] = [];

    beforeAll(async () => {
      cluster = await RedisCluster.start(3, { tls: certificate });
      client = cluster.client();
    });

    afterAll(async () => {
      client?.disconnect();
      await cluster?.stop();
    });

    beforeEach(() => {
      // The hash tag keeps every key of the test in one slot, as cluster mode requires.
      prefix = `{${uniquePrefix()}}`;
      queues = new TestQueues(client, prefix);
    });

    afterEach(async () => {
      await Promise.all(processes.splice(0).map((app) => app.kill()));
      await queues.close();
    });

    it('drains over TLS on every node', async () => {
      await queues.addToAll(2);

      const result = await drainWithCli({
        REDIS_URL: cluster.url,
        REDIS_CLUSTER: '1',
        QUEUE_KEY_PREFIX: prefix,
        NODE_EXTRA_CA_CERTS: certificate.caFile,
      });

      expect(result.stoppedBy).toBe('idle');
      for (const counts of Object.values(result.queues)) {
        expect(counts).toMatchObject({ processed: 2, remaining: 0 });
      }
    });

    it('names the certificate when the CA is not trusted', async () => {
      const outcome = await runCommand(process.execPath, [CLI, 'drain'], {
        REDIS_URL: cluster.url,
        REDIS_CLUSTER: '1',
        QUEUE_KEY_PREFIX: prefix,
        LOG_FORMAT: 'json',
      });

      expect(outcome.exitCode).toBe(75);
      expect(outcome.stderr).toMatch(/certificate/i);
    });

    it('runs the standalone worker over TLS', async () => {
      const worker = await AppProcess.start(
        'worker',
        {
          REDIS_URL: cluster.url,
          REDIS_CLUSTER: '1',
          QUEUE_KEY_PREFIX: prefix,
          WORKER_QUEUES: 'seed-jobs',
          NODE_EXTRA_CA_CERTS: certificate.caFile,
        },
        WORKERS_READY,
      );
      processes.push(worker);

      const job = await addAndAwaitCompletion(client, queues, 'seed-jobs');

      expect(await queues.get('seed-jobs').getJobState(job.id!)).toBe('completed');
    });
  });
});
