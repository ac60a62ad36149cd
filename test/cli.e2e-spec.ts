import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import { QueueEvents } from 'bullmq';
import request from 'supertest';
import { parse as parseYaml } from 'yaml';

import { CompiledApp, type ProcessOutcome } from './support/compiled-app';
import { TestQueues } from './support/queues';
import { RedisServer } from './support/redis-server';
import { createTestApp, TEST_TOKEN } from './support/test-app';
import { uniquePrefix, useTestRedis, type TestRedis } from './support/test-redis';

/** Exit codes that the CLI documents in its help. */
const EXIT = { ok: 0, usage: 64, redisUnavailable: 75, configuration: 78 };

describe('one-shot drain command', () => {
  let compiled: CompiledApp;
  let redis: TestRedis;
  let prefix: string;
  let queues: TestQueues;

  beforeAll(async () => {
    [compiled, redis] = await Promise.all([CompiledApp.build(), useTestRedis()]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([compiled?.remove(), redis?.stop()]);
  });

  beforeEach(() => {
    prefix = uniquePrefix();
    queues = new TestQueues(redis.url, prefix);
  });

  afterEach(async () => {
    await queues.close();
  });

  function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<ProcessOutcome> {
    return compiled
      .start('cli.js', args, { REDIS_URL: redis.url, QUEUE_KEY_PREFIX: prefix, LOG_FORMAT: 'json', ...env })
      .finished();
  }

  describe('when the call succeeds', () => {
    it('prints only the JSON result on stdout and exits 0', async () => {
      await queues.add('batch-jobs', 2);

      const outcome = await runCli(['drain']);

      expect(outcome.exitCode).toBe(EXIT.ok);
      expect(outcome.stdout.endsWith('\n')).toBe(true);
      expect(outcome.stdout.trim().split('\n')).toHaveLength(1);
      expect(JSON.parse(outcome.stdout)).toMatchObject({
        stoppedBy: 'idle',
        queues: { 'batch-jobs': { processed: 2, failed: 0, stoppedBy: 'idle', remaining: 0 } },
      });
      expect(await queues.counts('batch-jobs')).toMatchObject({ completed: 2, wait: 0, active: 0 });
    });

    it('writes its logs to stderr as JSON lines', async () => {
      const outcome = await runCli(['drain']);

      const lines = outcome.stderr.trim().split('\n');
      const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(records.some((record) => record.context === 'DrainService' && record.stoppedBy === 'idle')).toBe(true);
    });

    it('prints the same JSON as the endpoint', async () => {
      const testApp = await createTestApp({ REDIS_URL: redis.url, QUEUE_KEY_PREFIX: prefix });
      try {
        const endpoint = await request(testApp.app.getHttpServer())
          .post('/api/v1/cron/drain-queues')
          .query({ queue: 'dsar-jobs', maxJobsPerQueue: '5' })
          .set('Authorization', `Bearer ${TEST_TOKEN}`)
          .expect(200);
        const outcome = await runCli(['drain', '--queue', 'dsar-jobs', '--max-jobs-per-queue', '5']);
        const printed = JSON.parse(outcome.stdout) as Record<string, unknown>;

        const comparable = (body: Record<string, unknown>) => ({ ...body, startedAt: 'any', durationMs: 'any' });
        expect(Object.keys(printed)).toEqual(Object.keys(endpoint.body as object));
        expect(comparable(printed)).toEqual(comparable(endpoint.body as Record<string, unknown>));
      } finally {
        await testApp.close();
      }
    });

    it('applies the flags as the endpoint applies its query', async () => {
      await queues.add('seed-jobs', 3);
      await queues.add('journey-jobs', 1);

      const outcome = await runCli([
        'drain',
        '--queue=seed-jobs',
        '--max-jobs-per-queue',
        '1',
        '--max-concurrent-queues',
        '1',
      ]);
      const result = JSON.parse(outcome.stdout) as { stoppedBy: string; queues: Record<string, unknown> };

      expect(outcome.exitCode).toBe(EXIT.ok);
      expect(result.stoppedBy).toBe('maxJobs');
      expect(result.queues).toEqual({ 'seed-jobs': expect.objectContaining({ processed: 1, remaining: 2 }) });
      expect(await queues.counts('journey-jobs')).toMatchObject({ wait: 1 });
    });
  });

  describe('when the command line is invalid', () => {
    it.each([
      ['no command', [], 'Missing command'],
      ['an unknown command', ['run'], 'Unknown command "run"'],
      ['an unknown flag', ['drain', '--max-jobs', '3'], "Unknown option '--max-jobs'"],
      ['an empty queue', ['drain', '--queue='], '--queue must be one of'],
      ['a repeated flag', ['drain', '--queue', 'seed-jobs', '--queue', 'dsar-jobs'], '--queue must be given once'],
      [
        'a fraction',
        ['drain', '--max-duration-ms', '1.5'],
        '--max-duration-ms must be a whole number from 1 to 600000',
      ],
      ['an exponent', ['drain', '--max-duration-ms=1e3'], '--max-duration-ms must be a whole number'],
      [
        'a negative value',
        ['drain', '--max-jobs-per-queue=-1'],
        '--max-jobs-per-queue must be a whole number of at least 1 (at most 9007199254740991)',
      ],
      [
        'a value out of range',
        ['drain', '--max-concurrent-queues', '51'],
        '--max-concurrent-queues must be a whole number from 1 to 50',
      ],
    ])('rejects %s with exit code 64', async (_case, args, message) => {
      const outcome = await runCli(args);

      expect(outcome.exitCode).toBe(EXIT.usage);
      expect(outcome.stderr).toContain(message);
      expect(outcome.stdout).toBe('');
    });

    it('prints the help on stdout for --help', async () => {
      const outcome = await runCli(['--help']);

      expect(outcome.exitCode).toBe(EXIT.ok);
      expect(outcome.stdout).toContain('Usage: node dist/cli.js drain [options]');
      expect(outcome.stdout).toContain('--max-duration-ms N');
    });
  });

  describe('when Redis is not usable', () => {
    it('exits 78 when REDIS_URL is not set', async () => {
      const outcome = await runCli(['drain'], { REDIS_URL: '' });

      expect(outcome.exitCode).toBe(EXIT.configuration);
      expect(outcome.stderr).toContain('REDIS_URL is not set');
      expect(outcome.stdout).toBe('');
    });

    it('exits 78 without echoing a malformed REDIS_URL', async () => {
      const outcome = await runCli(['drain'], { REDIS_URL: 'http://user:secret-pw@example.invalid' });

      expect(outcome.exitCode).toBe(EXIT.configuration);
      expect(outcome.stderr).toContain('REDIS_URL must be a redis:// or rediss:// URL');
      expect(outcome.stderr).not.toContain('secret-pw');
    });

    it('exits 75 when Redis is unreachable', async () => {
      const stopped = await RedisServer.start();
      await stopped.stop();

      const outcome = await runCli(['drain'], { REDIS_URL: stopped.url });

      expect(outcome.exitCode).toBe(EXIT.redisUnavailable);
      expect(outcome.stderr).toContain('Redis is unavailable');
      expect(outcome.stdout).toBe('');
    });
  });

  describe('when it receives SIGTERM during a job', () => {
    let events: QueueEvents;

    beforeEach(async () => {
      events = new QueueEvents('retrain-jobs', { connection: { url: redis.url }, prefix });
      await events.waitUntilReady();
    });

    afterEach(async () => {
      await events.close();
    });

    it('puts the job back, prints the result and exits 0', async () => {
      await queues.add('retrain-jobs', 1, { workMs: 60_000 });
      const active = once(events, 'active');

      const running = compiled.start('cli.js', ['drain', '--queue', 'retrain-jobs'], {
        REDIS_URL: redis.url,
        QUEUE_KEY_PREFIX: prefix,
      });
      await active;
      running.kill('SIGTERM');
      const outcome = await running.finished();

      expect(outcome.exitCode).toBe(EXIT.ok);
      expect(JSON.parse(outcome.stdout)).toMatchObject({
        queues: { 'retrain-jobs': { processed: 0, failed: 0, remaining: 1 } },
      });
      expect(await queues.counts('retrain-jobs')).toMatchObject({ wait: 1, active: 0, failed: 0 });
    });

    it('exits 0 without losing the job when the signal comes during start-up', async () => {
      await queues.add('retrain-jobs', 1, { workMs: 60_000 });

      const running = compiled.start('cli.js', ['drain', '--queue', 'retrain-jobs'], {
        REDIS_URL: redis.url,
        QUEUE_KEY_PREFIX: prefix,
      });
      await running.waitForStderr('Starting Nest application');
      running.kill('SIGTERM');
      const outcome = await running.finished();

      expect(outcome.signal).toBeNull();
      expect(outcome.exitCode).toBe(EXIT.ok);
      expect(outcome.stderr).toContain('Received SIGTERM');
      expect(await queues.counts('retrain-jobs')).toMatchObject({ wait: 1, active: 0, failed: 0 });
    });

    it('logs the signal as a JSON line', async () => {
      await queues.add('retrain-jobs', 1, { workMs: 60_000 });
      const active = once(events, 'active');

      const running = compiled.start('cli.js', ['drain', '--queue', 'retrain-jobs'], {
        REDIS_URL: redis.url,
        QUEUE_KEY_PREFIX: prefix,
        LOG_FORMAT: 'json',
      });
      await active;
      running.kill('SIGTERM');
      const outcome = await running.finished();

      const records = outcome.stderr
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(records).toContainEqual(
        expect.objectContaining({ context: 'DrainCommand', message: expect.stringContaining('Received SIGTERM') }),
      );
    });
  });

  describe('Kubernetes CronJob recipe', () => {
    it('runs the container arguments of the recipe', async () => {
      const recipe = await readFile(resolve(__dirname, '../docs/schedulers/kubernetes-cronjob-cli.yaml'), 'utf8');
      const cronJob = parseYaml(recipe) as {
        spec: { jobTemplate: { spec: { template: { spec: { containers: { args: string[] }[] } } } } };
      };
      const [node, script, ...args] = cronJob.spec.jobTemplate.spec.template.spec.containers[0]!.args;
      await queues.add('seed-jobs', 1);

      const outcome = await runCli(args);

      expect([node, script]).toEqual(['node', 'dist/cli.js']);
      expect(outcome.exitCode).toBe(EXIT.ok);
      expect(JSON.parse(outcome.stdout)).toMatchObject({ queues: { 'seed-jobs': { processed: 1 } } });
    });
  });
});
