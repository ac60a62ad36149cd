import { EventEmitter } from 'node:events';

import { WaitingError, type Job, type Processor } from 'bullmq';

import type { QueueJobHandler } from '../../queues/job-handler.interface';
import { DrainStop } from './drain-stop';
import type { DrainWorker } from './drain-worker';
import { QueueConsumer } from './queue-consumer';
import type { QueueProbe } from './queue-probe';

/** Creates a promise with its resolve function, for steps that the test releases. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

interface FakeJob {
  readonly id: string;
  token?: string;
  readonly moveToWait: jest.Mock<Promise<number>, [string]>;
}

/**
 * Stands in for the BullMQ worker of `DrainWorker`: it hands out jobs from a
 * list and runs the processor the way `Worker.processJob` does, and the test
 * decides when a completion reaches "Redis".
 */
class FakeWorker extends EventEmitter {
  readonly id = 'fake-worker';
  readonly waiting: FakeJob[] = [];
  /** Completions held until the test resolves them. Other completions pass at once. */
  readonly completionGates = new Map<string, Promise<void>>();
  private readonly controllers: AbortController[] = [];

  constructor(
    private readonly processor: Processor,
    private readonly onFetch: (token: string) => void,
  ) {
    super();
  }

  recoverExpiredLocks(): Promise<string[]> {
    return Promise.resolve([]);
  }

  startLockRenewal(): void {}

  cancelAllJobs(): void {
    this.controllers.forEach((controller) => controller.abort());
  }

  getNextJob(token: string): Promise<FakeJob | undefined> {
    return Promise.resolve(this.take(token));
  }

  async processJob(job: FakeJob, token: string, fetchNext: () => boolean): Promise<FakeJob | undefined> {
    const controller = new AbortController();
    this.controllers.push(controller);
    try {
      await this.processor(job as unknown as Job, token, controller.signal);
    } catch (error) {
      if (error instanceof WaitingError) {
        return fetchNext() ? this.take(token) : undefined;
      }
      this.emit('failed', job, error);
      return fetchNext() ? this.take(token) : undefined;
    }
    const takeNext = fetchNext();
    await this.completionGates.get(job.id);
    this.emit('completed', job);
    return takeNext ? this.take(token) : undefined;
  }

  private take(token: string): FakeJob | undefined {
    const job = this.waiting.shift();
    if (job !== undefined) {
      job.token = token;
    }
    this.onFetch(token);
    return job;
  }
}

/** Creates a job whose `moveToWait`, the put-back, calls `onPutBack` and succeeds. */
function fakeJob(id: string, onPutBack: () => void = () => undefined): FakeJob {
  return {
    id,
    moveToWait: jest.fn((_token: string) => {
      onPutBack();
      return Promise.resolve(0);
    }),
  };
}

function probeWith(waiting: number): QueueProbe {
  return { paused: false, waiting, due: 0, expiredLocks: 0, delayed: 0, nextDueAt: null };
}

describe(QueueConsumer.name, () => {
  describe('when the cutoff comes while a completion is on its way', () => {
    it('waits for the completion and counts it', async () => {
      const stop = new DrainStop(10);
      const finishingStarted = deferred();
      const completionReachesRedis = deferred();
      const handler: QueueJobHandler = {
        handle: async (job) => {
          if (job.id === 'stuck') {
            // Ignores its abort signal and never returns within the call.
            await new Promise(() => undefined);
          }
          finishingStarted.resolve();
          return 'done';
        },
      };
      let worker!: FakeWorker;
      const sut = new QueueConsumer(
        'batch-jobs',
        handler,
        (processor, onFetch) => {
          worker = new FakeWorker(processor, onFetch);
          // Redis replies to the completion only after the stuck job was put
          // back and every callback pending at that moment has run.
          worker.waiting.push(
            fakeJob('stuck', () => setImmediate(completionReachesRedis.resolve)),
            fakeJob('finishing'),
          );
          return worker as unknown as DrainWorker;
        },
        2,
        undefined,
        stop,
      );
      worker.completionGates.set('finishing', completionReachesRedis.promise);

      const consumed = sut.consume(probeWith(2));
      await finishingStarted.promise;
      stop.request('maxDuration');
      const outcome = await consumed;

      expect(outcome.processed).toBe(1);
      expect(outcome.putBack).toBe(1);
      expect(outcome.stoppedBy).toBe('maxDuration');
      stop.dispose();
    });
  });

  describe('when the connection is lost after the cutoff', () => {
    it('stops waiting for completions', async () => {
      const stop = new DrainStop(10);
      const started = deferred();
      const handler: QueueJobHandler = {
        handle: () => {
          started.resolve();
          return Promise.resolve('done');
        },
      };
      let worker!: FakeWorker;
      const sut = new QueueConsumer(
        'batch-jobs',
        handler,
        (processor, onFetch) => {
          worker = new FakeWorker(processor, onFetch);
          worker.waiting.push(fakeJob('lost'));
          return worker as unknown as DrainWorker;
        },
        1,
        undefined,
        stop,
      );
      // Redis never replies to the completion.
      worker.completionGates.set('lost', new Promise(() => undefined));

      const consumed = sut.consume(probeWith(1));
      await started.promise;
      stop.request('maxDuration');
      await stop.cutoff;
      stop.request('connectionLost');
      const outcome = await consumed;

      expect(outcome.processed).toBe(0);
      expect(outcome.stoppedBy).toBe('maxDuration');
      stop.dispose();
    });
  });
});
