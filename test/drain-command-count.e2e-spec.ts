import type { DrainResult } from '../src/cron/drain-result';
import { DrainFixture } from './support/drain-fixture';
import { CommandRecorder } from './support/queues';
import { RedisServer } from './support/redis-server';

interface Scenario {
  readonly name: string;
  /** Adds jobs and changes state before the recorded call. */
  readonly arrange: (fixture: DrainFixture) => Promise<void>;
  readonly query?: Record<string, number | string>;
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'an idle call', arrange: () => Promise.resolve() },
  {
    name: 'jobs in three queues, two at a time, three slots each',
    arrange: async (fixture) => {
      await fixture.queues.add('batch-jobs', 7, { workMs: 5 });
      await fixture.queues.add('dsar-jobs', 5);
      await fixture.queues.add('seed-jobs', 3, { workMs: 5 });
    },
    query: { maxConcurrentQueues: 2 },
  },
  {
    name: 'failing jobs retried at once and with backoff',
    arrange: async (fixture) => {
      await fixture.queues.add('batch-jobs', 2, { fail: true }, { attempts: 2 });
      await fixture.queues.add('dsar-jobs', 2, { fail: true }, { attempts: 2, backoff: 60_000 });
    },
  },
  {
    name: 'a job whose lock expired',
    arrange: async (fixture) => {
      await fixture.queues.add('journey-jobs', 2);
      await fixture.abandonNextJob('journey-jobs');
    },
  },
  {
    name: 'due and future delayed jobs',
    arrange: async (fixture) => {
      await fixture.queues.add('retrain-jobs', 2, {}, { delay: 60_000, timestamp: Date.now() - 120_000 });
      await fixture.queues.add('retrain-jobs', 1, {}, { delay: 60_000 });
    },
  },
  {
    name: 'jobs put back at the deadline',
    arrange: async (fixture) => {
      await fixture.queues.add('batch-jobs', 3, { workMs: 60_000 });
      await fixture.queues.add('dsar-jobs', 1, { hangOnFirstRun: true });
    },
    query: { maxDurationMs: 200, maxConcurrentQueues: 2 },
  },
  {
    name: 'maxJobsPerQueue',
    arrange: (fixture) => fixture.queues.add('seed-jobs', 9),
    query: { maxJobsPerQueue: 4 },
  },
];

describe('redisCommands', () => {
  describe.each([
    ['without a password', undefined],
    ['with a password', 'count-test-password'],
  ])('%s', (_label, password) => {
    let server: RedisServer;
    let fixture: DrainFixture;
    let recorder: CommandRecorder;

    beforeAll(async () => {
      server = await RedisServer.start(password === undefined ? {} : { password });
    });

    afterAll(async () => {
      await server.stop();
    });

    beforeEach(async () => {
      fixture = await DrainFixture.start(server.url, {
        env: { QUEUE_CONCURRENCY: '3', DRAIN_ABORT_GRACE_MS: '200' },
      });
      recorder = await CommandRecorder.start(server.url);
    });

    afterEach(async () => {
      await recorder.stop();
      await fixture.close();
    });

    it.each(SCENARIOS)('equals what MONITOR records for $name', async ({ arrange, query }) => {
      await arrange(fixture);
      await fixture.queues.close();
      await recorder.mark();
      recorder.reset();

      const result: DrainResult = await fixture.drain(query);
      await recorder.mark();

      if (process.env.SHOW) console.log(JSON.stringify(result), recorder.commands);
      expect(recorder.count).toBeGreaterThan(0);
      expect(result.redisCommands).toBe(recorder.count);
    });
  });
});
