import { Logger } from '@nestjs/common';
import { WaitingError, type Job } from 'bullmq';

import type { QueueJobHandler } from './job-handler.interface';
import { thrownValueAsError } from './thrown-value';

interface RunningJob {
  readonly job: Job;
  readonly token: string;
  settled: boolean;
  putBack: boolean;
}

/**
 * Runs a queue's handler inside a BullMQ processor and keeps track of the
 * jobs in progress, so that a job cut short by a drain deadline or a shutdown
 * goes back to its queue instead of failing.
 *
 * Once `interrupt()` was called, a handler that throws has its job moved back
 * to wait, and `putBackUnfinished()` does the same for handlers still
 * running. A put-back job has its lock released and no stall or attempt
 * counted, so the next consumer runs it at once. The processor then throws
 * BullMQ's `WaitingError`, which BullMQ's worker treats as a job that has
 * already moved. A result that a put-back handler produces later is discarded.
 * A handler that throws something other than an `Error` fails its job with an
 * `Error` that shows the value. Each failed attempt is logged with the job's
 * id and the error's message, never the job's data.
 */
export class RunningJobs {
  private readonly logger = new Logger(RunningJobs.name);
  private readonly jobs = new Map<string, RunningJob>();
  private readonly emptyWaiters: (() => void)[] = [];
  private interrupted = false;
  private putBackTotal = 0;

  constructor(
    private readonly queue: string,
    private readonly handler: QueueJobHandler,
  ) {}

  get size(): number {
    return this.jobs.size;
  }

  /** Jobs moved back to wait so far. */
  get putBackCount(): number {
    return this.putBackTotal;
  }

  /** The processor to give to BullMQ; it declares `signal` so that BullMQ creates one per job. */
  readonly process = (job: Job, token: string | undefined, signal?: AbortSignal): Promise<unknown> =>
    this.run(job, token ?? '', signal);

  /** From now on a handler that throws has its job put back instead of failed. */
  interrupt(): void {
    this.interrupted = true;
  }

  /** Resolves once no handler is running. */
  whenEmpty(): Promise<void> {
    if (this.jobs.size === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.emptyWaiters.push(resolve));
  }

  /** Puts back every job whose handler is still running. */
  async putBackUnfinished(): Promise<void> {
    const unfinished = [...this.jobs.values()].filter((running) => !running.settled && !running.putBack);
    await Promise.all(unfinished.map((running) => this.putBack(running.job, running.token)));
  }

  /**
   * Moves an active job back to the head of the wait list and releases its
   * lock. If the command fails, the job keeps its lock until it expires
   * and is then recovered as stalled.
   */
  async putBack(job: Job, token: string): Promise<void> {
    const running = this.jobs.get(jobKey(job, token));
    if (running !== undefined) {
      running.putBack = true;
    }
    try {
      await job.moveToWait(token);
      this.putBackTotal += 1;
    } catch (error) {
      this.logger.warn(
        `Could not put job ${job.id} of ${this.queue} back in its queue; it is recovered once its lock expires: ${String(error)}`,
      );
    }
  }

  private async run(job: Job, token: string, signal: AbortSignal | undefined): Promise<unknown> {
    const running: RunningJob = { job, token, settled: false, putBack: false };
    const key = jobKey(job, token);
    this.jobs.set(key, running);
    try {
      const result = await this.handler.handle(job, signal ?? new AbortController().signal);
      running.settled = true;
      if (running.putBack) {
        throw new WaitingError();
      }
      return result;
    } catch (error) {
      running.settled = true;
      if (running.putBack) {
        throw new WaitingError();
      }
      if (this.interrupted) {
        await this.putBack(job, token);
        throw new WaitingError();
      }
      const failure = thrownValueAsError(error);
      this.logger.warn(
        `Job ${job.id} of ${this.queue} failed at attempt ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1}: ${failure.message}`,
      );
      throw failure;
    } finally {
      this.jobs.delete(key);
      if (this.jobs.size === 0) {
        this.emptyWaiters.splice(0).forEach((resolve) => resolve());
      }
    }
  }
}

function jobKey(job: Job, token: string): string {
  return `${job.id}:${token}`;
}
