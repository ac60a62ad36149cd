import { QUEUE_NAMES } from '../src/queues/queue-names';
import { CommandRecorder } from './support/queues';
import { DrainFixture } from './support/drain-fixture';
import { useTestRedis, type TestRedis } from './support/test-redis';

describe('drain probe', () => {
  let redis: TestRedis;
  let fixture: DrainFixture;

  beforeAll(async () => {
    redis = await useTestRedis();
  });

  afterAll(async () => {
    await redis.stop();
  });

  afterEach(async () => {
    await fixture.close();
  });

  describe('with a handler for every queue', () => {
    beforeEach(async () => {
      fixture = await DrainFixture.start(redis.url);
    });

    it('reads every requested queue in one script call', async () => {
      await fixture.queues.add('dsar-jobs', 1);
      const recorder = await CommandRecorder.start(redis.url);
      try {
        recorder.reset();
        await fixture.drain();
        await recorder.mark();

        const [probe] = recorder.entries;
        expect(probe?.name).toMatch(/^eval(sha)?$/);
        // EVAL script numkeys key…: five keys per queue, for all five queues.
        expect(probe?.args[1]).toBe(String(5 * QUEUE_NAMES.length));
        for (const queue of QUEUE_NAMES) {
          expect(probe?.args).toContain(`${fixture.prefix}:${queue}:wait`);
        }
      } finally {
        await recorder.stop();
      }
    });

    it('finds waiting jobs', async () => {
      await fixture.queues.add('batch-jobs', 2);

      const result = await fixture.drain();

      expect(result.queues['batch-jobs']).toMatchObject({ processed: 2, stoppedBy: 'idle', remaining: 0 });
    });

    it('finds prioritized jobs', async () => {
      await fixture.queues.add('batch-jobs', 2, {}, { priority: 5 });
      expect(await fixture.queues.counts('batch-jobs')).toMatchObject({ prioritized: 2, wait: 0 });

      const result = await fixture.drain();

      expect(result.queues['batch-jobs']).toMatchObject({ processed: 2, remaining: 0 });
    });

    it('finds delayed jobs that are due and promotes them', async () => {
      // A delay counted from a timestamp in the past makes the job due at once.
      await fixture.queues.add('seed-jobs', 1, {}, { delay: 60_000, timestamp: Date.now() - 120_000 });
      expect(await fixture.queues.counts('seed-jobs')).toMatchObject({ delayed: 1, wait: 0 });

      const result = await fixture.drain();

      expect(result.queues['seed-jobs']).toMatchObject({ processed: 1, delayed: 0, nextDueInMs: null });
      expect(await fixture.queues.counts('seed-jobs')).toMatchObject({ delayed: 0, completed: 1 });
    });

    it('finds active jobs whose lock has expired', async () => {
      await fixture.queues.add('journey-jobs', 1);
      const jobId = await fixture.abandonNextJob('journey-jobs');
      expect(await fixture.queues.counts('journey-jobs')).toMatchObject({ active: 1, wait: 0 });

      const result = await fixture.drain();

      expect(result.queues['journey-jobs']).toMatchObject({ processed: 1, remaining: 0 });
      expect(fixture.log.callsOf('journey-jobs', jobId)).toHaveLength(1);
    });

    it('leaves active jobs with a live lock alone', async () => {
      await fixture.queues.add('journey-jobs', 1);
      const jobId = await fixture.abandonNextJob('journey-jobs');
      await fixture.redis.set(`${fixture.prefix}:journey-jobs:${jobId}:lock`, 'another-consumer', 'PX', 60_000);

      const result = await fixture.drain();

      expect(result.queues['journey-jobs']).toMatchObject({ processed: 0, idleAt: 0, remaining: 0 });
      expect(await fixture.queues.counts('journey-jobs')).toMatchObject({ active: 1 });
    });

    it('reports future delayed jobs and the next due time', async () => {
      await fixture.queues.add('retrain-jobs', 1, {}, { delay: 60_000 });
      await fixture.queues.add('retrain-jobs', 1, {}, { delay: 30_000 });

      const result = await fixture.drain();

      expect(result.queues['retrain-jobs']).toMatchObject({ processed: 0, idleAt: 0, stoppedBy: 'idle', delayed: 2 });
      expect(result.queues['retrain-jobs']?.nextDueInMs).toBeGreaterThan(25_000);
      expect(result.queues['retrain-jobs']?.nextDueInMs).toBeLessThanOrEqual(30_000);
      expect(fixture.log.calls).toHaveLength(0);
    });

    it('reports the next job that a job scheduler adds', async () => {
      await fixture.queues.get('seed-jobs').upsertJobScheduler('hourly-seed', { every: 3_600_000 });

      const result = await fixture.drain({ queue: 'seed-jobs' });

      expect(result.queues['seed-jobs']).toMatchObject({ processed: 1, remaining: 0, delayed: 1 });
      expect(result.queues['seed-jobs']?.nextDueInMs).toBeGreaterThan(3_500_000);
      expect(await fixture.queues.counts('seed-jobs')).toMatchObject({ delayed: 1, wait: 0 });
    });

    it('reports the jobs that a rate limit holds back as remaining', async () => {
      await fixture.queues.get('dsar-jobs').setGlobalRateLimit(2, 60_000);
      await fixture.queues.add('dsar-jobs', 5);

      const result = await fixture.drain({ queue: 'dsar-jobs' });

      expect(result.queues['dsar-jobs']).toMatchObject({ processed: 2, stoppedBy: 'idle', remaining: 3 });
      expect(await fixture.queues.counts('dsar-jobs')).toMatchObject({ completed: 2, wait: 3 });
    });

    it('skips a paused queue and leaves its jobs waiting', async () => {
      await fixture.queues.add('batch-jobs', 3);
      await fixture.queues.get('batch-jobs').pause();

      const result = await fixture.drain();

      expect(result.queues['batch-jobs']).toMatchObject({ processed: 0, stoppedBy: 'paused', remaining: 3 });
      expect(fixture.log.calls).toHaveLength(0);
      expect(await fixture.queues.get('batch-jobs').getWaitingCount()).toBe(3);
    });
  });

  describe('when a queue is paused during the call', () => {
    beforeEach(async () => {
      fixture = await DrainFixture.start(redis.url);
    });

    it('reports it as paused with its jobs remaining', async () => {
      await fixture.queues.add('batch-jobs', 4, { workMs: 200 });
      const queue = fixture.queues.get('batch-jobs');
      const paused = fixture.log.waitForStart((call) => call.queue === 'batch-jobs').then(() => queue.pause());

      const result = await fixture.drain();
      await paused;

      expect(result.queues['batch-jobs']).toMatchObject({ processed: 1, stoppedBy: 'paused', remaining: 3 });
      expect(result.queues['batch-jobs']?.idleAt).toBeNull();
      expect(await queue.getWaitingCount()).toBe(3);
    });
  });

  describe('with handlers for some queues only', () => {
    beforeEach(async () => {
      fixture = await DrainFixture.start(redis.url, { handledQueues: ['batch-jobs', 'dsar-jobs'] });
    });

    it('skips the queues without a handler and leaves their jobs waiting', async () => {
      await fixture.queues.addToAll(2);

      const result = await fixture.drain();

      expect(result.queues['batch-jobs']).toMatchObject({ processed: 2, stoppedBy: 'idle' });
      expect(result.queues['dsar-jobs']).toMatchObject({ processed: 2, stoppedBy: 'idle' });
      for (const queue of ['journey-jobs', 'retrain-jobs', 'seed-jobs'] as const) {
        expect(result.queues[queue]).toMatchObject({ processed: 0, stoppedBy: 'noHandler', remaining: 2 });
        expect(await fixture.queues.counts(queue)).toMatchObject({ wait: 2, active: 0 });
      }
      expect(new Set(fixture.log.calls.map((call) => call.queue))).toEqual(new Set(['batch-jobs', 'dsar-jobs']));
    });
  });
});
