import { Logger } from '@nestjs/common';
import { RedisConnection, type Processor } from 'bullmq';

import type { AppConfig } from '../../config/app-config';
import type { JobHandlerRegistry } from '../../queues/job-handler.registry';
import type { QueueName } from '../../queues/queue-names';
import { createDrainClient, type CountingRedis } from '../../redis/redis-connections';
import { RedisUnavailableError } from '../drain.errors';
import type { DrainResult, DrainStopReason, QueueDrainResult } from '../drain-result';
import { DrainStop, type StopCause } from './drain-stop';
import { DrainWorker } from './drain-worker';
import { QueueConsumer, type ConsumerOutcome } from './queue-consumer';
import { probeQueues, runnableJobs, type QueueProbe } from './queue-probe';

/** Limits of one call after defaults were applied. */
export interface DrainRunOptions {
  readonly queues: readonly QueueName[];
  readonly maxDurationMs: number;
  readonly maxConcurrentQueues: number;
  readonly maxJobsPerQueue: number | undefined;
}

/**
 * Time allowed after the cutoff for putting jobs back, disconnecting and
 * answering: a call never outlives `maxDurationMs + abortGraceMs + 1 s`. The
 * connection is closed halfway through it, which rejects every pending command
 * even when Redis has stopped answering, and leaves the other half for the
 * answer.
 */
const SETTLE_ALLOWANCE_MS = 1_000;

/** Upper bound for opening the connection, within the call's hard limit. */
const MAX_CONNECT_TIMEOUT_MS = 10_000;

type QueuePlan =
  | {
      readonly kind: 'skip';
      readonly queue: QueueName;
      readonly probe: QueueProbe;
      readonly reason: 'noHandler' | 'paused';
    }
  | { readonly kind: 'idle'; readonly queue: QueueName; readonly probe: QueueProbe }
  | { readonly kind: 'consume'; readonly queue: QueueName; readonly probe: QueueProbe };

type QueueReport =
  | { readonly plan: QueuePlan; readonly status: 'planned' | 'failed' }
  | { readonly plan: QueuePlan; readonly status: 'consumed'; readonly outcome: ConsumerOutcome };

/**
 * One drain call: connect, probe every requested queue in one command,
 * consume the queues that have runnable jobs a few at a time, probe the
 * consumed queues again for what is left, disconnect, and summarise.
 */
export class DrainRun {
  private readonly logger = new Logger(DrainRun.name);
  private readonly stop: DrainStop;
  private readonly workers: DrainWorker[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private client: CountingRedis | undefined;
  private connection: RedisConnection | undefined;
  private connectionLost = false;

  constructor(
    private readonly config: AppConfig,
    private readonly registry: JobHandlerRegistry,
    private readonly redisUrl: string,
    private readonly options: DrainRunOptions,
  ) {
    this.stop = new DrainStop(config.drain.abortGraceMs);
  }

  /** Stops the call as if its deadline had passed. */
  requestStop(cause: StopCause): void {
    this.stop.request(cause);
  }

  async execute(): Promise<DrainResult> {
    const startedAt = Date.now();
    this.startTimers();
    try {
      const client = await this.connect();
      const probes = await this.guard(
        probeQueues(client, this.config.redis.keyPrefix, this.options.queues, Date.now()),
      );
      const plans = this.options.queues.map((queue) => this.plan(queue, probes.get(queue)!));
      const reports = await this.consumeAll(client, plans);
      this.throwIfConnectionLost();
      const finalProbes = await this.probeConsumedQueues(client, reports);
      return this.summarise(startedAt, reports, finalProbes, client.commandCount);
    } finally {
      await this.close();
    }
  }

  private startTimers(): void {
    const { maxDurationMs } = this.options;
    const hardLimitMs = maxDurationMs + this.config.drain.abortGraceMs + SETTLE_ALLOWANCE_MS / 2;
    this.timers.push(
      setTimeout(() => this.stop.request('maxDuration'), maxDurationMs),
      setTimeout(() => this.client?.disconnect(), hardLimitMs),
    );
  }

  private async connect(): Promise<CountingRedis> {
    const timeoutMs = Math.min(
      MAX_CONNECT_TIMEOUT_MS,
      this.options.maxDurationMs + this.config.drain.abortGraceMs + SETTLE_ALLOWANCE_MS,
    );
    const client = createDrainClient(this.redisUrl, timeoutMs);
    this.client = client;
    client.on('error', (error: Error) => this.logger.debug(`Redis connection error: ${error.message}`));
    try {
      await client.connect();
    } catch (error) {
      throw new RedisUnavailableError(describe(error));
    }
    client.once('end', () => {
      this.connectionLost = true;
      this.stop.request('connectionLost');
    });
    return client;
  }

  private plan(queue: QueueName, probe: QueueProbe): QueuePlan {
    if (this.registry.get(queue) === undefined) {
      return { kind: 'skip', queue, probe, reason: 'noHandler' };
    }
    if (probe.paused) {
      return { kind: 'skip', queue, probe, reason: 'paused' };
    }
    if (runnableJobs(probe) === 0) {
      return { kind: 'idle', queue, probe };
    }
    return { kind: 'consume', queue, probe };
  }

  /** Consumes the runnable queues, at most `maxConcurrentQueues` at a time, in request order. */
  private async consumeAll(client: CountingRedis, plans: readonly QueuePlan[]): Promise<QueueReport[]> {
    const reports: QueueReport[] = plans.map((plan) => ({ plan, status: 'planned' }));
    const pending = reports.filter((report) => report.plan.kind === 'consume');
    const lanes = Array.from({ length: Math.min(this.options.maxConcurrentQueues, pending.length) }, async () => {
      for (let report = pending.shift(); report !== undefined; report = pending.shift()) {
        if (this.stop.requested) {
          continue;
        }
        const index = reports.indexOf(report);
        reports[index] = await this.consumeQueue(client, report.plan);
      }
    });
    await Promise.all(lanes);
    return reports;
  }

  private async consumeQueue(client: CountingRedis, plan: QueuePlan): Promise<QueueReport> {
    const { queue } = plan;
    const connection = this.sharedConnection(client);
    const createWorker = (processor: Processor) => {
      const worker = new DrainWorker(queue, processor, connection, client, {
        keyPrefix: this.config.redis.keyPrefix,
        concurrency: this.config.queues.concurrency[queue],
        lockDurationMs: this.config.queues.lockDurationMs,
      });
      worker.on('error', (error: Error) =>
        this.logger.warn(`The worker of ${queue} reported an error: ${error.message}`),
      );
      this.workers.push(worker);
      return worker;
    };
    const consumer = new QueueConsumer(
      queue,
      this.registry.get(queue)!,
      createWorker,
      this.config.queues.concurrency[queue],
      this.options.maxJobsPerQueue,
      this.stop,
    );

    try {
      return { plan, status: 'consumed', outcome: await this.guard(consumer.consume(plan.probe.expiredLocks)) };
    } catch (error) {
      if (!this.connectionLost) {
        this.logger.error(
          `Draining ${queue} failed: ${describe(error)}`,
          error instanceof Error ? error.stack : undefined,
        );
      }
      return { plan, status: 'failed' };
    }
  }

  /**
   * Returns the BullMQ connection that wraps the call's client, created on
   * first use so that an idle call skips BullMQ's script set-up. BullMQ
   * neither closes a shared client nor sends a version check when told not to.
   */
  private sharedConnection(client: CountingRedis): RedisConnection {
    if (this.connection === undefined) {
      this.connection = new RedisConnection(client, { shared: true, blocking: false, skipVersionCheck: true });
      // Client errors also end the call through the client's 'end' event.
      this.connection.on('error', () => undefined);
    }
    return this.connection;
  }

  private async probeConsumedQueues(
    client: CountingRedis,
    reports: readonly QueueReport[],
  ): Promise<Map<QueueName, QueueProbe>> {
    const consumed = reports.filter((report) => report.plan.kind === 'consume').map((report) => report.plan.queue);
    return this.guard(probeQueues(client, this.config.redis.keyPrefix, consumed, Date.now()));
  }

  private summarise(
    startedAt: number,
    reports: readonly QueueReport[],
    finalProbes: ReadonlyMap<QueueName, QueueProbe>,
    redisCommands: number,
  ): DrainResult {
    const finishedAt = Date.now();
    const queues: Partial<Record<QueueName, QueueDrainResult>> = {};
    for (const report of reports) {
      queues[report.plan.queue] = this.queueResult(report, finalProbes.get(report.plan.queue), startedAt, finishedAt);
    }
    const stopReasons = Object.values(queues).map((queue) => queue.stoppedBy);
    let stoppedBy: DrainStopReason = 'idle';
    if (stopReasons.includes('maxDuration')) {
      stoppedBy = 'maxDuration';
    } else if (stopReasons.includes('maxJobs')) {
      stoppedBy = 'maxJobs';
    }
    return {
      startedAt: new Date(startedAt).toISOString(),
      durationMs: finishedAt - startedAt,
      stoppedBy,
      redisCommands,
      queues,
    };
  }

  private queueResult(
    report: QueueReport,
    finalProbe: QueueProbe | undefined,
    startedAt: number,
    finishedAt: number,
  ): QueueDrainResult {
    const { plan } = report;
    const probe = finalProbe ?? plan.probe;
    const remaining = runnableJobs(probe);
    const waitingState = {
      remaining,
      delayed: probe.delayed,
      nextDueInMs: probe.nextDueAt === null ? null : Math.max(0, probe.nextDueAt - finishedAt),
    };

    switch (plan.kind) {
      case 'skip':
        return { processed: 0, failed: 0, idleAt: remaining === 0 ? 0 : null, stoppedBy: plan.reason, ...waitingState };
      case 'idle':
        return { processed: 0, failed: 0, idleAt: 0, stoppedBy: 'idle', ...waitingState };
      case 'consume': {
        if (report.status !== 'consumed') {
          // A queue that never started stopped at the deadline before its turn.
          const stoppedBy = report.status === 'failed' ? 'error' : 'maxDuration';
          return { processed: 0, failed: 0, idleAt: null, stoppedBy, ...waitingState };
        }
        const { outcome } = report;
        return {
          processed: outcome.processed,
          failed: outcome.failed,
          idleAt: outcome.idleSince === null ? null : outcome.idleSince - startedAt,
          stoppedBy: outcome.stoppedBy,
          ...waitingState,
        };
      }
    }
  }

  /**
   * Waits for a Redis-bound step. A lost connection turns any failure of the
   * step into `RedisUnavailableError`.
   */
  private async guard<T>(step: Promise<T>): Promise<T> {
    try {
      return await step;
    } catch (error) {
      this.throwIfConnectionLost(error);
      throw error;
    }
  }

  private throwIfConnectionLost(cause?: unknown): void {
    if (this.connectionLost || this.client?.status === 'end') {
      this.connectionLost = true;
      throw new RedisUnavailableError(
        cause === undefined ? 'the connection was lost during the call' : describe(cause),
      );
    }
  }

  private async close(): Promise<void> {
    for (const timer of this.timers) {
      clearTimeout(timer);
    }
    this.stop.dispose();
    await Promise.allSettled(this.workers.map((worker) => worker.close(true)));
    await this.connection?.close().catch(() => undefined);
    this.client?.disconnect();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
