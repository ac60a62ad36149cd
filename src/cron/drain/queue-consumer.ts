import { randomUUID } from 'node:crypto';

import { Logger } from '@nestjs/common';
import type { Job, Processor } from 'bullmq';

import type { QueueJobHandler } from '../../queues/job-handler.interface';
import type { QueueName } from '../../queues/queue-names';
import { RunningJobs } from '../../queues/running-jobs';
import type { DrainWorker } from './drain-worker';
import type { DrainStop } from './drain-stop';
import { runnableJobs, type QueueProbe } from './queue-probe';

/** Result of consuming one queue within a drain call. */
export interface ConsumerOutcome {
  readonly processed: number;
  readonly failed: number;
  /** Epoch milliseconds at which a fetch first found no runnable job, or `null`. */
  readonly idleSince: number | null;
  readonly stoppedBy: 'idle' | 'maxJobs' | 'maxDuration';
  /** Jobs moved back to wait at the deadline. */
  readonly putBack: number;
  /** Jobs of a job scheduler that ended; each adds the scheduler's next job as delayed. */
  readonly schedulerJobs: number;
}

type SlotEnd = 'idle' | 'maxJobs' | 'stopped';

/**
 * Consumes one queue within one drain call: up to `concurrency` jobs at a
 * time, until a fetch finds no runnable job, `maxJobs` jobs were taken, or the
 * call stops.
 *
 * A slot fetches its next job with the completion of the previous one, in
 * the same script call, which is how BullMQ's own worker keeps to about one
 * command per job. When the call stops, running handlers see their abort
 * signal. A handler that throws after it, or is still running at the cutoff,
 * has its job put back (see `RunningJobs`).
 */
export class QueueConsumer {
  private readonly logger = new Logger(QueueConsumer.name);
  private readonly worker: DrainWorker;
  private readonly running: RunningJobs;
  private readonly slotEnds: SlotEnd[] = [];
  /** Slot tokens whose requested fetch has returned, with or without a job. */
  private readonly fetchedTokens = new Set<string>();
  /** Tokens of the slots whose handler is running. */
  private readonly inHandler = new Set<string>();
  private processed = 0;
  private failed = 0;
  private schedulerJobs = 0;
  private taken = 0;
  private idleSince: number | null = null;

  constructor(
    private readonly queue: QueueName,
    handler: QueueJobHandler,
    createWorker: (processor: Processor, onFetch: (token: string) => void) => DrainWorker,
    private readonly concurrency: number,
    private readonly maxJobs: number | undefined,
    private readonly stop: DrainStop,
  ) {
    this.running = new RunningJobs(queue, handler);
    this.worker = createWorker(
      (job, token, signal) => this.runHandler(job, token, signal),
      (token) => this.fetchedTokens.add(token),
    );
    this.worker.on('completed', (job) => {
      this.processed += 1;
      this.countSchedulerJob(job);
    });
    this.worker.on('failed', (job) => {
      this.failed += 1;
      this.countSchedulerJob(job);
    });
  }

  /**
   * Consumes the queue until it is idle, `maxJobs` is reached or the call stops.
   *
   * @param probe The queue's state at the start of the call. Active jobs whose
   * lock expired are recovered first, and no more slots start than the probe
   * found runnable jobs, because a slot whose first fetch finds nothing
   * costs a command for no job. Jobs that arrive later are fetched by the
   * completions of the running slots.
   */
  async consume(probe: QueueProbe): Promise<ConsumerOutcome> {
    if (probe.expiredLocks > 0) {
      const recovered = await this.worker.recoverExpiredLocks();
      this.logger.warn(`Recovered ${recovered.length} job(s) of ${this.queue} whose lock had expired.`);
    }
    this.worker.startLockRenewal();

    const interrupt = () => {
      this.running.interrupt();
      this.worker.cancelAllJobs('The drain call is stopping.');
    };
    this.stop.signal.addEventListener('abort', interrupt, { once: true });
    try {
      const slots = await this.startSlots(Math.min(this.concurrency, Math.max(1, runnableJobs(probe))));
      const cutOff = this.stop.cutoff.then(() => this.cutOff(slots));
      await Promise.race([Promise.all(slots.values()), cutOff]);
    } finally {
      this.stop.signal.removeEventListener('abort', interrupt);
    }
    return this.outcome();
  }

  /** Starts up to `count` slots and returns them by token. */
  private async startSlots(count: number): Promise<Map<string, Promise<void>>> {
    const slots = new Map<string, Promise<void>>();
    while (slots.size < count && this.reserveJob()) {
      const token = `${this.worker.id}:${randomUUID()}`;
      const job = await this.fetchReserved(token);
      if (job === undefined) {
        break;
      }
      slots.set(token, this.runSlot(job, token));
    }
    return slots;
  }

  /**
   * Puts back the jobs still running at the cutoff, then waits for the other
   * slots, whose last completion may still be on its way to Redis, so that
   * the outcome counts it. A slot whose handler is still running after its
   * job was put back is not waited for, and neither is any slot once the
   * connection is lost.
   */
  private async cutOff(slots: ReadonlyMap<string, Promise<void>>): Promise<void> {
    await this.running.putBackUnfinished();
    const settling = [...slots].filter(([token]) => !this.inHandler.has(token)).map(([, slot]) => slot);
    await Promise.race([Promise.all(settling), this.stop.connectionLost]);
  }

  /**
   * Runs the handler through `RunningJobs` and notes that the slot is inside
   * it. It declares `signal`, so BullMQ creates an abort signal per job.
   */
  private async runHandler(job: Job, token: string | undefined, signal?: AbortSignal): Promise<unknown> {
    const slot = token ?? '';
    this.inHandler.add(slot);
    try {
      return await this.running.process(job, token, signal);
    } finally {
      this.inHandler.delete(slot);
    }
  }

  private async runSlot(first: Job, token: string): Promise<void> {
    let job: Job | undefined = first;
    while (job !== undefined) {
      let reserved = false;
      this.fetchedTokens.delete(token);
      const next: Job | void = await this.worker.processJob(job, token, () => {
        reserved ||= this.reserveJob();
        return reserved;
      });

      if (next) {
        job = await this.acceptFetched(next);
      } else if (!reserved) {
        job = undefined;
      } else if (this.fetchedTokens.has(token)) {
        job = await this.acceptFetched(undefined);
      } else {
        // The job ended without fetching the next one, as an immediate
        // retry does, so fetch it now with the same reservation.
        job = await this.fetchReserved(token);
      }
    }
  }

  /**
   * Counts a job against `maxJobs` before it is fetched, so that concurrent
   * slots never take more than the limit. Returns false when no job may be
   * taken; the slot then ends.
   */
  private reserveJob(): boolean {
    if (this.stop.requested) {
      this.slotEnds.push('stopped');
      return false;
    }
    if (this.maxJobs !== undefined && this.taken >= this.maxJobs) {
      this.slotEnds.push('maxJobs');
      return false;
    }
    this.taken += 1;
    return true;
  }

  private async fetchReserved(token: string): Promise<Job | undefined> {
    return this.acceptFetched(await this.worker.getNextJob(token, { block: false }));
  }

  /**
   * Handles the result of a reserved fetch: an empty fetch releases the
   * reservation and marks the queue idle, and a job fetched after the call
   * started to stop is put back unstarted.
   */
  private async acceptFetched(job: Job | undefined): Promise<Job | undefined> {
    if (job === undefined) {
      this.taken -= 1;
      this.idleSince ??= Date.now();
      this.slotEnds.push('idle');
      return undefined;
    }
    if (this.stop.requested) {
      await this.running.putBack(job, job.token ?? '');
      this.slotEnds.push('stopped');
      return undefined;
    }
    return job;
  }

  private countSchedulerJob(job: Job | undefined): void {
    if (job?.repeatJobKey !== undefined) {
      this.schedulerJobs += 1;
    }
  }

  private outcome(): ConsumerOutcome {
    return {
      processed: this.processed,
      failed: this.failed,
      idleSince: this.idleSince,
      stoppedBy: this.stopReason(),
      putBack: this.running.putBackCount,
      schedulerJobs: this.schedulerJobs,
    };
  }

  private stopReason(): ConsumerOutcome['stoppedBy'] {
    if (this.stop.requested && (this.slotEnds.includes('stopped') || this.running.size > 0)) {
      return 'maxDuration';
    }
    if (this.slotEnds.includes('maxJobs')) {
      return 'maxJobs';
    }
    return 'idle';
  }
}
