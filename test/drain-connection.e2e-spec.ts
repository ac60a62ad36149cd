import { Redis } from 'ioredis';
import request from 'supertest';

import { CronMessages } from '../src/cron/cron.messages';
import { DrainService } from '../src/cron/drain.service';
import { RedisUnavailableError } from '../src/cron/drain.errors';
import { DRAIN_PATH, DrainFixture } from './support/drain-fixture';
import { CommandRecorder, TestQueues } from './support/queues';
import { createTestCertificate, type TestCertificate } from './support/certificate';
import { RedisServer } from './support/redis-server';
import { TEST_TOKEN } from './support/test-app';
import { waitUntil } from './support/wait-until';

/** Commands that a trimmed handshake never sends unless the URL asks for them. */
const HANDSHAKE_COMMANDS = ['hello', 'info', 'client', 'select', 'ping', 'auth', 'quit'];

describe('drain connection', () => {
  let fixture: DrainFixture | undefined;
  let recorder: CommandRecorder | undefined;

  afterEach(async () => {
    await recorder?.stop();
    await fixture?.close();
    recorder = undefined;
    fixture = undefined;
  });

  /** Starts a fixture on `url` and a recorder on `monitorUrl`, which must reach the same server. */
  async function start(url: string, monitorUrl = url, env: Record<string, string> = {}): Promise<DrainFixture> {
    fixture = await DrainFixture.start(url, { env });
    recorder = await CommandRecorder.start(monitorUrl);
    return fixture;
  }

  /** Closes the producers' connections, so that the recording holds only the drain's commands from now on. */
  async function startRecording(): Promise<void> {
    await fixture!.queues.close();
    await recorder!.mark();
    recorder!.reset();
  }

  describe('without a password', () => {
    let server: RedisServer;

    beforeAll(async () => {
      server = await RedisServer.start();
    });

    afterAll(async () => {
      await server.stop();
    });

    it('sends only the probe on an idle call', async () => {
      const drain = await start(server.url);
      await startRecording();

      const result = await drain.drain();
      await recorder!.mark();

      expect(recorder!.entries.map((entry) => entry.name)).toEqual(['eval']);
      expect(result.redisCommands).toBe(1);
    });

    it('uses one connection and no handshake command for a whole call', async () => {
      const drain = await start(server.url, server.url, { QUEUE_CONCURRENCY: '3' });
      await drain.queues.add('batch-jobs', 5);
      await drain.queues.add('dsar-jobs', 5);
      await drain.queues.add('seed-jobs', 5);
      await startRecording();

      const result = await drain.drain({ maxConcurrentQueues: 3 });
      await recorder!.mark();

      expect(Object.values(result.queues).reduce((total, queue) => total + queue.processed, 0)).toBe(15);
      expect(recorder!.sources).toHaveLength(1);
      const names = new Set(recorder!.entries.map((entry) => entry.name));
      for (const name of HANDSHAKE_COMMANDS) {
        expect(names).not.toContain(name);
      }
    });

    it('selects the database that the URL names', async () => {
      const drain = await start(`${server.url}/3`, server.url);
      await drain.queues.add('batch-jobs', 2);
      await startRecording();

      const result = await drain.drain();
      await recorder!.mark();

      expect(result.queues['batch-jobs']).toMatchObject({ processed: 2 });
      expect(recorder!.entries[0]?.name).toBe('select');
      expect(recorder!.entries.filter((entry) => entry.name === 'select')).toHaveLength(1);
      expect(result.redisCommands).toBe(recorder!.count);
    });

    it('hints at TLS when a rediss:// URL gets no answer', async () => {
      // The drain fixture uses its URL for its producers too, so it gets the
      // plain URL and the service is given the rediss:// one.
      fixture = await DrainFixture.start(server.url, { env: { REDIS_URL: server.url.replace('redis:', 'rediss:') } });

      const drain = fixture.testApp.app.get(DrainService).drain({ maxDurationMs: 200 });

      await expect(drain).rejects.toMatchObject({ reason: expect.stringContaining('REDIS_URL asks for TLS') });
    });

    it('answers 503 when the database in the URL does not exist', async () => {
      fixture = await DrainFixture.start(`${server.url}/16`);
      const producers = new TestQueues(server.url, fixture.prefix);
      try {
        await producers.add('batch-jobs', 1);

        const drain = fixture.testApp.app.get(DrainService).drain();

        await expect(drain).rejects.toBeInstanceOf(RedisUnavailableError);
        await expect(drain).rejects.toMatchObject({
          reason: expect.stringContaining('the database number in REDIS_URL does not exist'),
        });
        expect(await producers.counts('batch-jobs')).toMatchObject({ wait: 1, completed: 0 });
      } finally {
        await producers.close();
      }
    });
  });

  describe('on a read-only replica', () => {
    let primary: RedisServer;
    let replica: RedisServer;

    beforeAll(async () => {
      primary = await RedisServer.start();
      replica = await RedisServer.start();
      const client = new Redis(replica.url);
      try {
        await client.replicaof('127.0.0.1', primary.port);
      } finally {
        client.disconnect();
      }
    });

    afterAll(async () => {
      await replica.stop();
      await primary.stop();
    });

    it('answers 503 when the replica refuses to take a job', async () => {
      // The producers write to the primary; the service is given the replica.
      fixture = await DrainFixture.start(primary.url, { env: { REDIS_URL: replica.url } });
      await fixture.queues.add('batch-jobs', 2);
      const replicaClient = new Redis(replica.url);
      try {
        await waitUntil(
          async () => (await replicaClient.llen(`${fixture!.prefix}:batch-jobs:wait`)) === 2,
          'the replica has the jobs',
        );
      } finally {
        replicaClient.disconnect();
      }

      const drain = fixture.testApp.app.get(DrainService).drain({ queues: ['batch-jobs'] });

      await expect(drain).rejects.toBeInstanceOf(RedisUnavailableError);
      await expect(drain).rejects.toMatchObject({ reason: expect.stringMatching(/^READONLY/) });
      expect(await fixture.queues.counts('batch-jobs')).toMatchObject({ wait: 2, active: 0 });
    });
  });

  describe('with a password', () => {
    const password = 'drain-test-password';
    let server: RedisServer;

    beforeAll(async () => {
      server = await RedisServer.start({ password });
    });

    afterAll(async () => {
      await server.stop();
    });

    it('authenticates first and counts AUTH', async () => {
      const drain = await start(server.url);
      await startRecording();

      const result = await drain.drain();
      await recorder!.mark();

      expect(recorder!.entries.map((entry) => entry.name)).toEqual(['auth', 'eval']);
      expect(result.redisCommands).toBe(2);
    });

    it('processes jobs over the authenticated connection', async () => {
      const drain = await start(server.url);
      await drain.queues.add('batch-jobs', 3);
      await startRecording();

      const result = await drain.drain();
      await recorder!.mark();

      expect(result.queues['batch-jobs']).toMatchObject({ processed: 3 });
      expect(recorder!.entries.filter((entry) => entry.name === 'auth')).toHaveLength(1);
      expect(result.redisCommands).toBe(recorder!.count);
    });

    it('answers 503 without the password when the URL has a wrong one', async () => {
      const wrongUrl = server.url.replace(password, 'wrong-password');
      const drain = await start(wrongUrl, server.url);

      const response = await request(drain.testApp.app.getHttpServer())
        .post(DRAIN_PATH)
        .set('Authorization', `Bearer ${TEST_TOKEN}`)
        .expect(503);

      expect(JSON.stringify(response.body)).not.toContain('wrong-password');
      expect(response.headers['retry-after']).toBeDefined();
    });

    it('answers 503 when the URL has no password', async () => {
      const urlWithoutPassword = server.url.replace(`:${password}@`, '');
      const drain = await start(urlWithoutPassword, server.url);

      const response = await request(drain.testApp.app.getHttpServer())
        .post(DRAIN_PATH)
        .set('Authorization', `Bearer ${TEST_TOKEN}`)
        .expect(503);

      expect(response.body.message).toBe(CronMessages.redisUnavailable);
      await expect(drain.testApp.app.get(DrainService).drain()).rejects.toMatchObject({
        reason: expect.stringContaining('the server requires a password'),
      });
    });

    it('names the rejected password as the cause, without the password', async () => {
      const wrongUrl = server.url.replace(password, 'wrong-password');
      fixture = await DrainFixture.start(wrongUrl);

      const drain = fixture.testApp.app.get(DrainService).drain();

      await expect(drain).rejects.toMatchObject({ reason: expect.stringMatching(/WRONGPASS|invalid password/i) });
      await expect(drain).rejects.toMatchObject({ message: expect.not.stringContaining('wrong-password') });
    });
  });

  describe('over TLS', () => {
    let certificate: TestCertificate;
    let server: RedisServer;

    beforeAll(async () => {
      certificate = await createTestCertificate();
      server = await RedisServer.start({ tls: certificate });
    });

    afterAll(async () => {
      await server.stop();
      await certificate.remove();
    });

    it('speaks TLS to a rediss:// URL and verifies the certificate', async () => {
      fixture = await DrainFixture.start(server.url);

      const drain = fixture.testApp.app.get(DrainService).drain();

      // A client without TLS would get no answer from a TLS port; this one
      // reached the TLS handshake and rejected the self-signed certificate.
      await expect(drain).rejects.toBeInstanceOf(RedisUnavailableError);
      await expect(drain).rejects.toMatchObject({ reason: expect.stringMatching(/certificate/i) });
    });
  });
});
