import { DrainFixture } from './support/drain-fixture';
import { useTestRedis, type TestRedis } from './support/test-redis';

describe('concurrent drain calls', () => {
  let redis: TestRedis;
  let fixture: DrainFixture;

  beforeAll(async () => {
    redis = await useTestRedis();
  });

  afterAll(async () => {
    await redis.stop();
  });

  beforeEach(async () => {
    fixture = await DrainFixture.start(redis.url, { env: { QUEUE_CONCURRENCY: '4', DRAIN_ABORT_GRACE_MS: '200' } });
  });

  afterEach(async () => {
    await fixture.close();
  });

  it('process each job once and record it once', async () => {
    const jobsPerQueue = 60;
    await fixture.queues.add('batch-jobs', jobsPerQueue, { workMs: 2 });
    await fixture.queues.add('dsar-jobs', jobsPerQueue, { workMs: 2 });

    const results = await Promise.all([fixture.drain(), fixture.drain(), fixture.drain(), fixture.drain()]);

    for (const queue of ['batch-jobs', 'dsar-jobs'] as const) {
      const processed = results.map((result) => result.queues[queue]?.processed ?? 0);
      expect(processed.reduce((total, count) => total + count, 0)).toBe(jobsPerQueue);
      expect(await fixture.queues.counts(queue)).toMatchObject({ completed: jobsPerQueue, wait: 0, active: 0 });

      const runs = fixture.log.calls.filter((call) => call.queue === queue);
      expect(runs).toHaveLength(jobsPerQueue);
      expect(new Set(runs.map((call) => call.jobId)).size).toBe(jobsPerQueue);
      for (const call of runs) {
        const events = await fixture.jobEvents(queue, call.jobId);
        expect(events.filter((event) => event === 'completed')).toHaveLength(1);
      }
    }
  });

  it('run a job that another call put back', async () => {
    await fixture.queues.add('batch-jobs', 1, { hangOnFirstRun: true });
    const firstRun = fixture.log.waitForStart((call) => call.run === 1);
    const shortCall = fixture.drain({ maxDurationMs: 200 });
    const { jobId } = await firstRun;
    // The long call starts while the first job is still locked by the short
    // call, and is busy with this one when the short call puts the first back.
    await fixture.queues.add('batch-jobs', 1, { workMs: 1_000 });

    const [short, long] = await Promise.all([shortCall, fixture.drain({ maxDurationMs: 20_000 })]);

    expect(short.queues['batch-jobs']).toMatchObject({ processed: 0, stoppedBy: 'maxDuration' });
    expect(long.queues['batch-jobs']).toMatchObject({ processed: 2, stoppedBy: 'idle' });
    expect(fixture.log.callsOf('batch-jobs', jobId).map((call) => call.run)).toEqual([1, 2]);
    const job = await fixture.queues.get('batch-jobs').getJob(jobId);
    expect(job?.returnvalue).toEqual({ jobId, run: 2 });
  });
});
