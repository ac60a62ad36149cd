import { DrainFixture } from './support/drain-fixture';
import { useTestRedis, type TestRedis } from './support/test-redis';

/** Time that `DrainRun` allows after the cutoff for putting jobs back and disconnecting. */
const SETTLE_ALLOWANCE_MS = 1_000;
const ABORT_GRACE_MS = 300;

describe('drain deadline', () => {
  let redis: TestRedis;
  let fixture: DrainFixture;

  beforeAll(async () => {
    redis = await useTestRedis();
  });

  afterAll(async () => {
    await redis.stop();
  });

  beforeEach(async () => {
    fixture = await DrainFixture.start(redis.url, {
      env: { DRAIN_ABORT_GRACE_MS: String(ABORT_GRACE_MS), QUEUE_CONCURRENCY: '2' },
    });
  });

  afterEach(async () => {
    await fixture.close();
  });

  it('starts no job once the deadline has passed', async () => {
    // The long job occupies one slot past the deadline, so its abort marks when
    // the deadline fired. The other slot keeps taking short jobs until then.
    await fixture.queues.add('batch-jobs', 1, { workMs: 60_000 });
    await fixture.queues.add('batch-jobs', 20, { workMs: 100 });

    const result = await fixture.drain({ maxDurationMs: 500 });

    const aborted = fixture.log.calls.filter((call) => call.outcome === 'aborted');
    const abortedAt = Math.min(...aborted.map((call) => call.abortedAt ?? Infinity));
    expect(abortedAt).toBeLessThan(Infinity);
    for (const call of fixture.log.calls) {
      expect(call.startedAt).toBeLessThanOrEqual(abortedAt);
    }
    const processed = result.queues['batch-jobs']?.processed ?? 0;
    expect(aborted.length).toBeLessThanOrEqual(2);
    expect(fixture.log.calls).toHaveLength(processed + aborted.length);
    expect(result.queues['batch-jobs']).toMatchObject({ stoppedBy: 'maxDuration', remaining: 21 - processed });
    expect(result.stoppedBy).toBe('maxDuration');
  });

  it('aborts running handlers and puts jobs back', async () => {
    await fixture.queues.add('batch-jobs', 1, { workMs: 60_000 });

    const result = await fixture.drain({ maxDurationMs: 200 });

    const [call] = fixture.log.calls;
    expect(call?.abortedAt).toBeDefined();
    expect(call?.outcome).toBe('aborted');
    expect(result.queues['batch-jobs']).toMatchObject({
      processed: 0,
      failed: 0,
      stoppedBy: 'maxDuration',
      remaining: 1,
    });
    const jobId = call!.jobId;
    expect(await fixture.queues.get('batch-jobs').getJobState(jobId)).toBe('waiting');
    expect(await fixture.jobField('batch-jobs', jobId, 'stc')).toBeNull();
    expect(await fixture.jobField('batch-jobs', jobId, 'atm')).toBeNull();
    expect(await fixture.hasLock('batch-jobs', jobId)).toBe(false);
  });

  it('reports a queue whose turn never came as stopped by maxDuration', async () => {
    await fixture.queues.add('batch-jobs', 1, { workMs: 60_000 });
    await fixture.queues.add('dsar-jobs', 2);

    const result = await fixture.drain({ maxDurationMs: 200, maxConcurrentQueues: 1 });

    expect(result.queues['dsar-jobs']).toEqual({
      processed: 0,
      failed: 0,
      idleAt: null,
      stoppedBy: 'maxDuration',
      remaining: 2,
      delayed: 0,
      nextDueInMs: null,
    });
    expect(fixture.log.calls.filter((call) => call.queue === 'dsar-jobs')).toHaveLength(0);
  });

  describe('when a handler ignores its abort signal', () => {
    const maxDurationMs = 300;

    it('answers within maxDurationMs plus the grace and the settle allowance', async () => {
      await fixture.queues.add('batch-jobs', 1, { hangOnFirstRun: true });

      const startedAt = Date.now();
      const result = await fixture.drain({ maxDurationMs });
      const elapsedMs = Date.now() - startedAt;

      expect(elapsedMs).toBeLessThan(maxDurationMs + ABORT_GRACE_MS + SETTLE_ALLOWANCE_MS);
      expect(result.queues['batch-jobs']).toMatchObject({
        processed: 0,
        failed: 0,
        stoppedBy: 'maxDuration',
        remaining: 1,
      });
      expect(fixture.log.calls[0]?.finishedAt).toBeUndefined();
    });

    it('puts the job back for the next call', async () => {
      await fixture.queues.add('batch-jobs', 1, { hangOnFirstRun: true });
      await fixture.drain({ maxDurationMs });
      const jobId = fixture.log.calls[0]!.jobId;

      expect(await fixture.queues.get('batch-jobs').getJobState(jobId)).toBe('waiting');
      expect(await fixture.hasLock('batch-jobs', jobId)).toBe(false);
      expect(await fixture.jobField('batch-jobs', jobId, 'stc')).toBeNull();

      // The first run is still hanging, and its lock would only expire 30 s later.
      const next = await fixture.drain();

      expect(next.queues['batch-jobs']).toMatchObject({ processed: 1, failed: 0, stoppedBy: 'idle' });
      expect(fixture.log.callsOf('batch-jobs', jobId).map((call) => call.run)).toEqual([1, 2]);
    });

    it('discards the result that the first run produces late', async () => {
      await fixture.queues.add('batch-jobs', 1, { hangOnFirstRun: true });
      await fixture.drain({ maxDurationMs });
      const jobId = fixture.log.calls[0]!.jobId;
      await fixture.drain();

      const lateFinish = new Promise((resolve) => fixture.log.once('finish', resolve));
      fixture.log.releaseAll();
      await lateFinish;
      // A further call gives the late run's processing time to settle.
      await fixture.drain();

      const job = await fixture.queues.get('batch-jobs').getJob(jobId);
      expect(job?.returnvalue).toEqual({ jobId, run: 2 });
      expect(job?.attemptsMade).toBe(1);
      expect((await fixture.jobEvents('batch-jobs', jobId)).filter((event) => event === 'completed')).toHaveLength(1);
    });
  });
});
