import type { QueueName } from '../queues/queue-names';

/**
 * Why a queue stopped: it ran out of runnable jobs (`idle`), reached
 * `maxJobsPerQueue` (`maxJobs`) or the deadline (`maxDuration`), was paused,
 * has no handler, or failed with an unexpected error that the log describes.
 */
export type QueueStopReason = 'idle' | 'maxJobs' | 'maxDuration' | 'paused' | 'noHandler' | 'error';

/** Why a whole call stopped: `idle` when every consumed queue stopped idle. */
export type DrainStopReason = 'idle' | 'maxJobs' | 'maxDuration';

export interface QueueDrainResult {
  /** Jobs completed in this call. */
  processed: number;
  /** Jobs whose handler threw in this call; they may be retried later under their `attempts`. */
  failed: number;
  /**
   * Milliseconds from the start of the call until the queue first had no
   * runnable job. It is `0` when the queue had none at the start and `null`
   * when it never became idle.
   */
  idleAt: number | null;
  stoppedBy: QueueStopReason;
  /** Runnable jobs left when the queue stopped. */
  remaining: number;
  /**
   * Delayed jobs that are not due yet, as the call's last probe of the queue
   * saw them. A queue that ended idle without a failed job is not probed
   * again, so delayed jobs added while the call ran are not counted.
   */
  delayed: number;
  /** Milliseconds until the earliest delayed job is due, or `null` when there is none. */
  nextDueInMs: number | null;
}

export interface DrainResult {
  startedAt: string;
  durationMs: number;
  stoppedBy: DrainStopReason;
  /** Commands this call sent to Redis, the connection handshake included; a script call counts as one. */
  redisCommands: number;
  queues: Partial<Record<QueueName, QueueDrainResult>>;
}

/** Limits of one drain call, as the endpoint's query parameters set them. */
export interface DrainOptions {
  /** Queues to process; defaults to the configured default queues. */
  queues?: readonly QueueName[];
  /** Wall-clock cap for the whole call. Default 60 000. */
  maxDurationMs?: number;
  /** Queues processed at the same time. Default 2. */
  maxConcurrentQueues?: number;
  /** Jobs taken from one queue, completed plus failed. Default unbounded. */
  maxJobsPerQueue?: number;
}

export const DRAIN_DEFAULTS = {
  maxDurationMs: 60_000,
  maxConcurrentQueues: 2,
} as const;

export const DRAIN_LIMITS = {
  maxDurationMs: { min: 1, max: 600_000 },
  maxConcurrentQueues: { min: 1, max: 50 },
  maxJobsPerQueue: { min: 1, max: Number.MAX_SAFE_INTEGER },
} as const;
