import type { BackoffStrategy, Job } from 'bullmq';

/**
 * Processes the jobs of one queue. The same instance serves both modes: the
 * always-on workers and the drain calls.
 */
export interface QueueJobHandler<DataType = unknown, ResultType = unknown> {
  /**
   * Processes one job and returns its result, which BullMQ stores as the job's
   * return value. Throwing fails the attempt under the job's `attempts` and
   * `backoff` options.
   *
   * @param signal Aborted when the job must stop early: at a drain deadline or
   * when the process shuts down. A handler that stops because of it should
   * throw; the job is then put back in its queue instead of failing.
   */
  handle(job: Job<DataType, ResultType>, signal: AbortSignal): Promise<ResultType>;

  /**
   * Optional. Returns the delay in milliseconds before the next attempt of a
   * failed job whose `backoff` option names a type of its own, such as
   * `{ type: 'jitter' }`, or -1 to fail the job without a retry. BullMQ's
   * `fixed` and `exponential` types never reach it. Without it, a job with a
   * type of its own is failed at its first failed attempt.
   */
  backoff?(...args: Parameters<BackoffStrategy>): ReturnType<BackoffStrategy>;
}
