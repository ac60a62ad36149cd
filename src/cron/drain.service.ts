import { Injectable, Logger, Optional, type BeforeApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';

import { AppConfig } from '../config/app-config';
import { DrainMetrics } from '../observability/metrics/drain-metrics';
import { JobHandlerRegistry } from '../queues/job-handler.registry';
import { isQueueName, type QueueName } from '../queues/queue-names';
import { DrainRun, type DrainRunOptions } from './drain/drain-run';
import { RedisNotConfiguredError } from './drain.errors';
import { DRAIN_DEFAULTS, DRAIN_LIMITS, type DrainOptions, type DrainResult } from './drain-result';

/**
 * Processes the runnable jobs of the queues on demand and never calls BullMQ's
 * `Queue.drain()`, which deletes jobs instead of processing them.
 *
 * Each call opens one Redis connection, probes the requested queues in one
 * command, runs their jobs through the registered handlers with BullMQ's own
 * semantics, and disconnects. Nothing is sent to Redis between calls. Other
 * modules may inject this service and call `drain()` directly.
 */
@Injectable()
export class DrainService implements OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger(DrainService.name);
  private readonly runs = new Map<DrainRun, Promise<unknown>>();
  private stopping = false;

  constructor(
    private readonly config: AppConfig,
    private readonly registry: JobHandlerRegistry,
    @Optional() private readonly metrics?: DrainMetrics,
  ) {}

  /**
   * Processes what is runnable now in the requested queues and returns a
   * summary per queue.
   *
   * @throws RangeError when an option is out of range or names an unknown queue.
   * @throws RedisNotConfiguredError when `REDIS_URL` is not set.
   * @throws RedisUnavailableError when Redis cannot be reached or the
   * connection is lost during the call.
   */
  async drain(options: DrainOptions = {}): Promise<DrainResult> {
    const runOptions = this.resolveOptions(options);
    const startedAt = Date.now();
    try {
      const result = await this.execute(runOptions);
      this.reportCompleted(result);
      return result;
    } catch (error) {
      this.reportFailed(error, Date.now() - startedAt);
      throw error;
    }
  }

  /**
   * Stops calls in progress, and calls that start from now on, as if their
   * deadline had passed. Nest runs this hook of every module before any
   * `beforeApplicationShutdown`, so a call stops at once even while always-on
   * workers in the same process wait for their jobs.
   */
  onModuleDestroy(): void {
    this.stopping = true;
    for (const run of this.runs.keys()) {
      run.requestStop('shutdown');
    }
  }

  /** Waits until the calls that `onModuleDestroy` stopped have returned. */
  async beforeApplicationShutdown(): Promise<void> {
    this.onModuleDestroy();
    await Promise.all(this.runs.values());
  }

  private resolveOptions(options: DrainOptions): DrainRunOptions {
    const queues = options.queues ?? this.config.drain.defaultQueues;
    const unknown = queues.filter((queue) => !isQueueName(queue));
    if (unknown.length > 0) {
      throw new RangeError(
        `Unknown queue ${unknown.join(', ')}. Known queues: ${this.config.queues.names.join(', ')}.`,
      );
    }
    return {
      queues: [...new Set<QueueName>(queues)],
      maxDurationMs: checkedLimit('maxDurationMs', options.maxDurationMs ?? DRAIN_DEFAULTS.maxDurationMs),
      maxConcurrentQueues: checkedLimit(
        'maxConcurrentQueues',
        options.maxConcurrentQueues ?? DRAIN_DEFAULTS.maxConcurrentQueues,
      ),
      maxJobsPerQueue:
        options.maxJobsPerQueue === undefined ? undefined : checkedLimit('maxJobsPerQueue', options.maxJobsPerQueue),
    };
  }

  private async execute(runOptions: DrainRunOptions): Promise<DrainResult> {
    const redisUrl = this.config.redis.url;
    if (redisUrl === undefined) {
      throw new RedisNotConfiguredError();
    }

    const run = new DrainRun(this.config, this.registry, redisUrl, runOptions);
    if (this.stopping) {
      run.requestStop('shutdown');
    }
    const execution = run.execute();
    this.runs.set(
      run,
      execution.catch(() => undefined),
    );
    try {
      return await execution;
    } finally {
      this.runs.delete(run);
    }
  }

  /** Logs the one summary line of a completed call and records its metrics. */
  private reportCompleted(result: DrainResult): void {
    const queues = Object.fromEntries(
      Object.entries(result.queues).map(([name, queue]) => [
        name,
        { processed: queue.processed, failed: queue.failed, stoppedBy: queue.stoppedBy, remaining: queue.remaining },
      ]),
    );
    const results = Object.values(result.queues);
    const processed = results.reduce((total, queue) => total + queue.processed, 0);
    const failed = results.reduce((total, queue) => total + queue.failed, 0);
    this.logger.log(
      `Drain call processed ${processed} job(s), ${failed} failed, in ${result.durationMs} ms with ${result.redisCommands} Redis command(s); stopped by ${result.stoppedBy}.`,
      {
        processed,
        failed,
        durationMs: result.durationMs,
        redisCommands: result.redisCommands,
        stoppedBy: result.stoppedBy,
        queues,
      },
    );
    this.metrics?.recordCompleted(result);
  }

  /** Logs the one line of a failed call and records its metrics. */
  private reportFailed(error: unknown, durationMs: number): void {
    const reason = error instanceof Error ? error.message : String(error);
    this.logger.warn(`Drain call failed after ${durationMs} ms: ${reason}`, { durationMs });
    this.metrics?.recordFailed(error, durationMs);
  }
}

function checkedLimit(name: keyof typeof DRAIN_LIMITS, value: number): number {
  const { min, max } = DRAIN_LIMITS[name];
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be a whole number from ${min} to ${max}; got ${value}.`);
  }
  return value;
}
