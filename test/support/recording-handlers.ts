import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

import { Inject, Injectable, Module, type DynamicModule, type Type } from '@nestjs/common';
import type { Job } from 'bullmq';

import { JobHandler } from '../../src/queues/job-handler.decorator';
import type { QueueJobHandler } from '../../src/queues/job-handler.interface';
import type { QueueName } from '../../src/queues/queue-names';

/** Job data that the recording handlers understand. */
export interface RecordedJobData {
  /** Milliseconds of work. The work stops early at the abort signal unless `ignoreAbort` is set. */
  workMs?: number;
  /** Keep working after the abort signal, as a handler that ignores it would. */
  ignoreAbort?: boolean;
  /** Hang on the first run of the job, ignoring the abort signal, until the test calls `releaseAll`. */
  hangOnFirstRun?: boolean;
  /** Throw an error instead of returning a result. */
  fail?: boolean;
  /** Number of first runs that throw an error before the job returns a result. */
  failRuns?: number;
  /** Throw a value that is not an `Error` instead of returning a result. */
  throwNonError?: NonErrorThrow;
}

/** Values that a handler can throw instead of an `Error`. `rejection` is a promise rejected with no reason. */
export const NON_ERROR_THROWS = ['string', 'undefined', 'null', 'object', 'rejection'] as const;
export type NonErrorThrow = (typeof NON_ERROR_THROWS)[number];

/** How a failed job's reason shows each value that `throwNonError` throws. */
export const NON_ERROR_PREVIEWS: Readonly<Record<NonErrorThrow, string>> = {
  string: "'plain string thrown'",
  undefined: 'undefined',
  null: 'null',
  object: "{ code: 'E_PLAIN_OBJECT' }",
  rejection: 'undefined',
};

/** Result that a recording handler returns, so a test can tell the runs apart. */
export interface RecordedJobResult {
  readonly jobId: string;
  readonly run: number;
}

/** One run of a handler. */
export interface HandlerCall {
  readonly queue: QueueName;
  readonly jobId: string;
  /** 1 for the first run of this job, 2 for the second, … */
  readonly run: number;
  readonly startedAt: number;
  abortedAt?: number;
  finishedAt?: number;
  outcome?: 'completed' | 'failed' | 'aborted';
}

/**
 * Log of every run of the recording handlers, shared by all queues of one
 * application, with the peaks of concurrent runs that the tests assert on.
 * It emits `start` and `finish` with the `HandlerCall`.
 */
@Injectable()
export class HandlerLog extends EventEmitter {
  readonly calls: HandlerCall[] = [];
  /** Highest number of runs in progress at the same time, per queue. */
  readonly maxRunningPerQueue = new Map<QueueName, number>();
  /** Highest number of queues with a run in progress at the same time. */
  maxQueuesAtOnce = 0;
  private readonly running = new Map<QueueName, number>();
  private readonly holds = new Map<string, () => void>();
  private released = false;

  /** Runs of one job. Job ids are unique within a queue only. */
  callsOf(queue: QueueName, jobId: string): HandlerCall[] {
    return this.calls.filter((call) => call.queue === queue && call.jobId === jobId);
  }

  /** Resolves with the first call, past or future, that matches. */
  waitForStart(matches: (call: HandlerCall) => boolean): Promise<HandlerCall> {
    const past = this.calls.find(matches);
    if (past !== undefined) {
      return Promise.resolve(past);
    }
    return new Promise((resolve) => {
      const onStart = (call: HandlerCall) => {
        if (matches(call)) {
          this.off('start', onStart);
          resolve(call);
        }
      };
      this.on('start', onStart);
    });
  }

  /** Lets every hanging run finish, and every later run of a hanging job finish at once. */
  releaseAll(): void {
    this.released = true;
    for (const release of this.holds.values()) {
      release();
    }
    this.holds.clear();
  }

  /** Returns a promise that resolves when the test calls `releaseAll`, for runs that hang. */
  hold(call: HandlerCall): Promise<void> {
    if (this.released) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.holds.set(`${call.queue}:${call.jobId}:${call.run}`, resolve));
  }

  started(queue: QueueName, jobId: string): HandlerCall {
    const call: HandlerCall = { queue, jobId, run: this.callsOf(queue, jobId).length + 1, startedAt: Date.now() };
    this.calls.push(call);
    const running = (this.running.get(queue) ?? 0) + 1;
    this.running.set(queue, running);
    this.maxRunningPerQueue.set(queue, Math.max(running, this.maxRunningPerQueue.get(queue) ?? 0));
    const queuesAtOnce = [...this.running.values()].filter((count) => count > 0).length;
    this.maxQueuesAtOnce = Math.max(this.maxQueuesAtOnce, queuesAtOnce);
    this.emit('start', call);
    return call;
  }

  finished(call: HandlerCall, outcome: NonNullable<HandlerCall['outcome']>): void {
    call.finishedAt = Date.now();
    call.outcome = outcome;
    this.running.set(call.queue, (this.running.get(call.queue) ?? 1) - 1);
    this.emit('finish', call);
  }
}

/** Handler that records its runs in the `HandlerLog` and behaves as its job data requests. */
export class RecordingHandler implements QueueJobHandler<RecordedJobData, RecordedJobResult> {
  constructor(
    private readonly queue: QueueName,
    private readonly log: HandlerLog,
  ) {}

  async handle(job: Job<RecordedJobData, RecordedJobResult>, signal: AbortSignal): Promise<RecordedJobResult> {
    const jobId = job.id ?? '';
    const call = this.log.started(this.queue, jobId);
    signal.addEventListener('abort', () => (call.abortedAt = Date.now()), { once: true });
    const {
      workMs = 0,
      ignoreAbort = false,
      hangOnFirstRun = false,
      fail = false,
      failRuns = 0,
      throwNonError,
    } = job.data;
    try {
      if (hangOnFirstRun && call.run === 1) {
        await this.log.hold(call);
      } else if (workMs > 0) {
        await sleep(workMs, undefined, ignoreAbort ? {} : { signal });
      }
    } catch (error) {
      this.log.finished(call, 'aborted');
      throw error;
    }
    if (fail || call.run <= failRuns) {
      this.log.finished(call, 'failed');
      throw new Error(`Job ${jobId} failed on purpose.`);
    }
    if (throwNonError !== undefined) {
      this.log.finished(call, 'failed');
      return throwValue(throwNonError);
    }
    this.log.finished(call, 'completed');
    return { jobId, run: call.run };
  }

  /**
   * Serves backoff types of its own: `minutes`, a minute per attempt made,
   * `instant`, no delay, and `throws`, which throws as a broken strategy would.
   */
  backoff(attemptsMade: number, type?: string): number {
    if (type === 'minutes') {
      return attemptsMade * 60_000;
    }
    if (type === 'throws') {
      throw new Error('The backoff strategy failed on purpose.');
    }
    return type === 'instant' ? 0 : -1;
  }
}

/** Throws, or rejects with, a value that is not an `Error`. */
function throwValue(kind: NonErrorThrow): Promise<never> {
  switch (kind) {
    case 'string':
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test
      throw 'plain string thrown';
    case 'undefined':
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test
      throw undefined;
    case 'null':
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test
      throw null;
    case 'object':
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test
      throw { code: 'E_PLAIN_OBJECT' };
    case 'rejection':
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the case under test
      return Promise.reject();
  }
}

function recordingHandlerFor(queue: QueueName): Type<RecordingHandler> {
  @Injectable()
  @JobHandler(queue)
  class QueueRecordingHandler extends RecordingHandler {
    constructor(@Inject(HandlerLog) log: HandlerLog) {
      super(queue, log);
    }
  }
  Object.defineProperty(QueueRecordingHandler, 'name', { value: `RecordingHandler(${queue})` });
  return QueueRecordingHandler;
}

/** Replaces the example handlers with recording handlers for the given queues only. */
@Module({})
export class RecordingHandlersModule {
  static forQueues(queues: readonly QueueName[]): DynamicModule {
    return {
      module: RecordingHandlersModule,
      providers: [HandlerLog, ...queues.map(recordingHandlerFor)],
      exports: [HandlerLog],
    };
  }
}
