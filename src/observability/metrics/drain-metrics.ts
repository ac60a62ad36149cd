import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { DrainResult } from '../../cron/drain-result';
import { RedisNotConfiguredError, RedisUnavailableError } from '../../cron/drain.errors';

/** Prefix of every metric the application defines. */
const PREFIX = 'cron_drain_';

/** Upper bounds of the call-duration buckets, in seconds: 10 ms up to the 600 s maximum of `maxDurationMs`. */
const DURATION_BUCKETS_SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** Upper bounds of the commands-per-call buckets; an idle call costs 1 to 3 commands. */
const COMMAND_BUCKETS = [1, 2, 3, 5, 10, 25, 50, 100, 250, 500, 1_000, 5_000];

/** How a drain call ended: its `stoppedBy` when it returned a result, otherwise the kind of error. */
export type DrainOutcome = DrainResult['stoppedBy'] | 'redisNotConfigured' | 'redisUnavailable' | 'error';

/**
 * Prometheus metrics of drain calls and of the drain endpoint's responses,
 * kept in this process. Recording and scraping never send a Redis command:
 * queue depths come from the result of the last call, not from Redis.
 */
@Injectable()
export class DrainMetrics {
  /** Registry of this application only, so that several applications in one process do not collide. */
  readonly registry = new Registry();

  private readonly calls = new Counter({
    name: `${PREFIX}calls_total`,
    help: 'Drain calls by outcome: idle, maxJobs or maxDuration for a completed call, otherwise the error.',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  private readonly processed = new Counter({
    name: `${PREFIX}jobs_processed_total`,
    help: 'Jobs completed by drain calls, per queue.',
    labelNames: ['queue'],
    registers: [this.registry],
  });

  private readonly failed = new Counter({
    name: `${PREFIX}jobs_failed_total`,
    help: 'Jobs whose handler threw during a drain call, per queue.',
    labelNames: ['queue'],
    registers: [this.registry],
  });

  private readonly duration = new Histogram({
    name: `${PREFIX}call_duration_seconds`,
    help: 'Wall-clock duration of drain calls, failed ones included.',
    buckets: DURATION_BUCKETS_SECONDS,
    registers: [this.registry],
  });

  private readonly commands = new Histogram({
    name: `${PREFIX}redis_commands`,
    help: 'Redis commands sent per completed drain call, the connection handshake included.',
    buckets: COMMAND_BUCKETS,
    registers: [this.registry],
  });

  private readonly remaining = new Gauge({
    name: `${PREFIX}queue_remaining_jobs`,
    help: 'Runnable jobs left in a queue when the last drain call that visited it stopped.',
    labelNames: ['queue'],
    registers: [this.registry],
  });

  private readonly delayed = new Gauge({
    name: `${PREFIX}queue_delayed_jobs`,
    help: 'Delayed jobs not yet due in a queue when the last drain call that visited it stopped.',
    labelNames: ['queue'],
    registers: [this.registry],
  });

  private readonly responses = new Counter({
    name: `${PREFIX}http_responses_total`,
    help: 'Responses of the drain endpoint by HTTP method and status code, rejected requests included.',
    labelNames: ['method', 'status'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  recordCompleted(result: DrainResult): void {
    this.calls.inc({ outcome: result.stoppedBy });
    this.duration.observe(result.durationMs / 1_000);
    this.commands.observe(result.redisCommands);
    for (const [queue, queueResult] of Object.entries(result.queues)) {
      this.processed.inc({ queue }, queueResult.processed);
      this.failed.inc({ queue }, queueResult.failed);
      this.remaining.set({ queue }, queueResult.remaining);
      this.delayed.set({ queue }, queueResult.delayed);
    }
  }

  recordFailed(error: unknown, durationMs: number): void {
    this.calls.inc({ outcome: outcomeOf(error) });
    this.duration.observe(durationMs / 1_000);
  }

  recordResponse(method: string, statusCode: number): void {
    this.responses.inc({ method, status: String(statusCode) });
  }
}

function outcomeOf(error: unknown): DrainOutcome {
  if (error instanceof RedisNotConfiguredError) {
    return 'redisNotConfigured';
  }
  if (error instanceof RedisUnavailableError) {
    return 'redisUnavailable';
  }
  return 'error';
}
