import { QUEUE_NAMES } from '../src/queues/queue-names';
import { NON_ERROR_THROWN } from '../src/queues/queues.messages';
import { DrainFixture } from './support/drain-fixture';
import { CommandRecorder } from './support/queues';
import { NON_ERROR_PREVIEWS, NON_ERROR_THROWS } from './support/recording-handlers';
import { useTestRedis, type TestRedis } from './support/test-redis';

describe('drain consumption', () => {
  let redis: TestRedis;
  let fixture: DrainFixture | undefined;

  beforeAll(async () => {
    redis = await useTestRedis();
  });

  afterAll(async () => {
    await redis.stop();
  });

  afterEach(async () => {
    await fixture?.close();
    fixture = undefined;
  });

  describe('Redis commands', () => {
    let recorder: CommandRecorder;

    afterEach(async () => {
      await recorder.stop();
    });

    /** Starts recording once the jobs are added and the producers are closed. */
    async function startRecording(): Promise<void> {
      await fixture!.queues.close();
      recorder = await CommandRecorder.start(redis.url);
      recorder.reset();
    }

    it.each([1, 4])('fetch the next job with each completion at concurrency %i', async (concurrency) => {
      const jobs = 40;
      fixture = await DrainFixture.start(redis.url, { env: { QUEUE_CONCURRENCY: String(concurrency) } });
      await fixture.queues.add('batch-jobs', jobs);
      await startRecording();

      const result = await fixture.drain({ queue: 'batch-jobs' });
      await recorder.mark();

      expect(result.queues['batch-jobs']).toMatchObject({ processed: jobs, remaining: 0, stoppedBy: 'idle' });
      // The probe, one fetch per slot, and one completion per job that also
      // fetches the next job. A queue that ends idle needs no closing probe.
      expect(recorder.count).toBe(1 + concurrency + jobs);
      expect(result.redisCommands).toBe(recorder.count);
    });

    it('start no more slots than the probe found jobs', async () => {
      fixture = await DrainFixture.start(redis.url, { env: { QUEUE_CONCURRENCY: '4' } });
      await fixture.queues.add('batch-jobs', 2);
      await startRecording();

      const result = await fixture.drain();
      await recorder.mark();

      expect(result.queues['batch-jobs']).toMatchObject({ processed: 2, remaining: 0 });
      expect(recorder.count).toBe(1 + 2 + 2);
    });

    it('keep the delayed jobs of the first probe without a closing probe', async () => {
      fixture = await DrainFixture.start(redis.url);
      await fixture.queues.add('batch-jobs', 3);
      await fixture.queues.add('batch-jobs', 1, {}, { delay: 60_000 });
      await startRecording();

      const result = await fixture.drain();
      await recorder.mark();

      expect(result.queues['batch-jobs']).toMatchObject({ processed: 3, delayed: 1, remaining: 0 });
      expect(result.queues['batch-jobs']?.nextDueInMs).toBeGreaterThan(50_000);
      expect(recorder.count).toBe(1 + 1 + 3);
    });

    it('probe again at the end when a queue did not end idle', async () => {
      fixture = await DrainFixture.start(redis.url);
      await fixture.queues.add('batch-jobs', 5);
      await startRecording();

      const result = await fixture.drain({ maxJobsPerQueue: 2 });
      await recorder.mark();

      expect(result.queues['batch-jobs']).toMatchObject({ processed: 2, stoppedBy: 'maxJobs', remaining: 3 });
      expect(recorder.count).toBe(1 + 1 + 2 + 1);
    });
  });

  describe('concurrency', () => {
    it('runs as many jobs of a queue at a time as QUEUE_CONCURRENCY allows', async () => {
      fixture = await DrainFixture.start(redis.url, { env: { QUEUE_CONCURRENCY: '1,batch-jobs=3' } });
      await fixture.queues.add('batch-jobs', 12, { workMs: 40 });
      await fixture.queues.add('dsar-jobs', 4, { workMs: 40 });

      const result = await fixture.drain();

      expect(result.queues['batch-jobs']).toMatchObject({ processed: 12 });
      expect(result.queues['dsar-jobs']).toMatchObject({ processed: 4 });
      expect(fixture.log.maxRunningPerQueue.get('batch-jobs')).toBe(3);
      expect(fixture.log.maxRunningPerQueue.get('dsar-jobs')).toBe(1);
    });

    it.each([1, 2, 5])(
      'consumes at most %i queue(s) at a time with maxConcurrentQueues',
      async (maxConcurrentQueues) => {
        fixture = await DrainFixture.start(redis.url);
        await fixture.queues.addToAll(3, { workMs: 30 });

        const result = await fixture.drain({ maxConcurrentQueues });

        for (const queue of QUEUE_NAMES) {
          expect(result.queues[queue]).toMatchObject({ processed: 3, stoppedBy: 'idle' });
        }
        expect(fixture.log.maxQueuesAtOnce).toBe(maxConcurrentQueues);
      },
    );
  });

  describe('jobs whose lock expired', () => {
    beforeEach(async () => {
      fixture = await DrainFixture.start(redis.url);
    });

    it('recovers them before the waiting jobs and counts a stall', async () => {
      await fixture!.queues.add('seed-jobs', 1);
      const abandoned = await fixture!.abandonNextJob('seed-jobs');
      await fixture!.queues.add('seed-jobs', 2);

      const result = await fixture!.drain();

      expect(result.queues['seed-jobs']).toMatchObject({ processed: 3, failed: 0 });
      expect(fixture!.log.calls[0]?.jobId).toBe(abandoned);
      expect(await fixture!.jobField('seed-jobs', abandoned, 'stc')).toBe('1');
      expect(await fixture!.jobEvents('seed-jobs', abandoned)).toContain('stalled');
    });

    it('fails a job that stalled more often than BullMQ allows', async () => {
      await fixture!.queues.add('seed-jobs', 1);
      const abandoned = await fixture!.abandonNextJob('seed-jobs');
      // BullMQ's default maxStalledCount is 1, so a second stall fails the job.
      await fixture!.redis.hset(`${fixture!.prefix}:seed-jobs:${abandoned}`, 'stc', 1);

      const result = await fixture!.drain();

      expect(result.queues['seed-jobs']).toMatchObject({ processed: 0, failed: 1 });
      expect(fixture!.log.callsOf('seed-jobs', abandoned)).toHaveLength(0);
      expect(await fixture!.jobField('seed-jobs', abandoned, 'failedReason')).toMatch(
        /stalled more than allowable limit/,
      );
    });
  });

  describe('BullMQ job semantics', () => {
    beforeEach(async () => {
      fixture = await DrainFixture.start(redis.url);
    });

    it('stores the return value and honours removeOnComplete', async () => {
      await fixture!.queues.add('batch-jobs', 1);
      await fixture!.queues.add('dsar-jobs', 1, {}, { removeOnComplete: true });

      await fixture!.drain();

      const [batchJob] = await fixture!.queues.get('batch-jobs').getCompleted();
      expect(batchJob?.returnvalue).toEqual({ jobId: batchJob?.id, run: 1 });
      expect(await fixture!.queues.counts('dsar-jobs')).toMatchObject({ completed: 0, wait: 0, active: 0 });
      expect(fixture!.log.calls.filter((call) => call.queue === 'dsar-jobs')).toHaveLength(1);
    });

    it('retries a failing job under its attempts and backoff', async () => {
      await fixture!.queues.add(
        'batch-jobs',
        1,
        { fail: true },
        {
          attempts: 2,
          backoff: { type: 'fixed', delay: 60_000 },
        },
      );

      const result = await fixture!.drain();

      expect(result.queues['batch-jobs']).toMatchObject({ processed: 0, failed: 1, delayed: 1, remaining: 0 });
      expect(result.queues['batch-jobs']?.nextDueInMs).toBeGreaterThan(50_000);
      const [job] = await fixture!.queues.get('batch-jobs').getDelayed();
      expect(job?.attemptsMade).toBe(1);
      expect(job?.failedReason).toMatch(/failed on purpose/);
    });

    it("retries under the handler's own backoff type", async () => {
      await fixture!.queues.add('batch-jobs', 1, { fail: true }, { attempts: 3, backoff: { type: 'minutes' } });

      const result = await fixture!.drain();

      expect(result.queues['batch-jobs']).toMatchObject({ processed: 0, failed: 1, delayed: 1, remaining: 0 });
      expect(result.queues['batch-jobs']?.nextDueInMs).toBeGreaterThan(50_000);
      expect(await fixture!.queues.counts('batch-jobs')).toMatchObject({ active: 0, delayed: 1 });
    });

    it('fails a job whose backoff method throws', async () => {
      await fixture!.queues.add('batch-jobs', 1, { fail: true }, { attempts: 3, backoff: { type: 'throws' } });

      const result = await fixture!.drain();

      expect(result.queues['batch-jobs']).toMatchObject({ processed: 0, failed: 1, remaining: 0, delayed: 0 });
      expect(await fixture!.queues.counts('batch-jobs')).toMatchObject({ active: 0, failed: 1 });
    });

    it.each(NON_ERROR_THROWS)('fails a job that throws a non-Error (%s)', async (kind) => {
      await fixture!.queues.add('batch-jobs', 1, { throwNonError: kind });
      await fixture!.queues.add('batch-jobs', 1);

      const result = await fixture!.drain();

      expect(result.queues['batch-jobs']).toMatchObject({ processed: 1, failed: 1, remaining: 0, stoppedBy: 'idle' });
      expect(await fixture!.queues.counts('batch-jobs')).toMatchObject({ active: 0, failed: 1, completed: 1 });
      const [job] = await fixture!.queues.get('batch-jobs').getFailed();
      expect(job?.failedReason).toBe(NON_ERROR_THROWN(NON_ERROR_PREVIEWS[kind]));
    });
  });

  describe('maxJobsPerQueue', () => {
    it('stops a queue at the limit across its slots', async () => {
      fixture = await DrainFixture.start(redis.url, { env: { QUEUE_CONCURRENCY: '3' } });
      await fixture.queues.add('batch-jobs', 10, { workMs: 20 });

      const result = await fixture.drain({ maxJobsPerQueue: 4 });

      expect(result.queues['batch-jobs']).toMatchObject({ processed: 4, stoppedBy: 'maxJobs', remaining: 6 });
      expect(result.stoppedBy).toBe('maxJobs');
      expect(fixture.log.calls).toHaveLength(4);
    });
  });
});
