import { Logger } from '@nestjs/common';
import { RedisConnection, type Processor } from 'bullmq';

import type { AppConfig } from '../../config/app-config';
import { jobBackoff } from '../../queues/job-backoff';
import type { JobHandlerRegistry } from '../../queues/job-handler.registry';
import type { QueueName } from '../../queues/queue-names';
import {
  connectionFailure,
  createDrainClient,
  isMissingDatabaseError,
  redisErrorMessage,
  serverRejection,
  type DrainClient,
} from '../../redis/redis-connections';
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
 * consume the queues that have runnable jobs a few at a time, probe again
 * the consumed queues whose end state is not known, disconnect, and
 * summarise.
 */
export class DrainRun {
  private readonly logger = new Logger(DrainRun.name);
  private readonly stop: DrainStop;
  private readonly workers: DrainWorker[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private client: DrainClient | undefined;
  private connection: RedisConnection | undefined;
  private connectionLost = false;
  /** Reason for disconnecting, set when a timer made the call give up on Redis. */
  private abandonReason: string | undefined;
  private closed = false;
  /** Whether Redis has replied to the first probe. */
  private answered = false;
  /** Reason the server gave for rejecting the consumption of a queue, such as a read-only replica's. */
  private rejection: string | undefined;

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
      const answerTimer = this.abandonAfter(this.connectTimeoutMs(), 'Redis did not answer within %d ms');
      const client = await this.connect();
      const probes = await this.firstProbe(client);
      clearTimeout(answerTimer);
      this.answered = true;
      const plans = this.options.queues.map((queue) => this.plan(queue, probes.get(queue)!));
      const reports = await this.consumeAll(client, plans);
      this.throwIfConnectionLost();
      if (this.rejection !== undefined) {
        throw new RedisUnavailableError(this.rejection);
      }
      const finalProbes = await this.probeConsumedQueues(client, reports);
      return this.summarise(startedAt, reports, finalProbes, client.commandCount);
    } finally {
      await this.close();
    }
  }

  private startTimers(): void {
    this.timers.push(setTimeout(() => this.stop.request('maxDuration'), this.options.maxDurationMs));
    // The hard limit: the call gives up on Redis a grace period after any
    // stop, the deadline's or an earlier shutdown's, so that a Redis that no
    // longer replies cannot hold the call or the process.
    this.stop.signal.addEventListener(
      'abort',
      () =>
        this.abandonAfter(
          this.config.drain.abortGraceMs + SETTLE_ALLOWANCE_MS / 2,
          'Redis did not answer within %d ms of the stop',
        ),
      { once: true },
    );
  }

  /**
   * Disconnects after `delayMs` unless the call has ended, so that every
   * pending step fails with `reason` (`%d` is replaced by the delay).
   */
  private abandonAfter(delayMs: number, reason: string): NodeJS.Timeout | undefined {
    if (this.closed) {
      // Closing disconnects, which aborts the stop signal of a call that
      // ended without a stop, and there is nothing left to abandon.
      return undefined;
    }
    const timer = setTimeout(() => {
      this.abandonReason ??= reason.replace('%d', String(delayMs)) + (this.answered ? '' : this.tlsHint());
      this.client?.disconnect();
    }, delayMs);
    this.timers.push(timer);
    return timer;
  }

  /**
   * Returns a hint for a `rediss://` URL that gets no reply: a server without
   * TLS never completes the TLS handshake, so the call can only time out.
   */
  private tlsHint(): string {
    return this.redisUrl.startsWith('rediss:')
      ? ' (REDIS_URL asks for TLS: check that the server serves TLS on this port, or use redis://)'
      : '';
  }

  /** Bound for opening the connection, its handshake and the first reply, within the call's hard limit. */
  private connectTimeoutMs(): number {
    return Math.min(
      MAX_CONNECT_TIMEOUT_MS,
      this.options.maxDurationMs + this.config.drain.abortGraceMs + SETTLE_ALLOWANCE_MS / 2,
    );
  }

  private async connect(): Promise<DrainClient> {
    const client = createDrainClient(
      { url: this.redisUrl, cluster: this.config.redis.cluster },
      this.connectTimeoutMs(),
    );
    this.client = client;
    // ioredis rejects a failed connect() with "Connection is closed." (a
    // cluster with "None of startup nodes is available."), but the 'error'
    // event before it names the cause, such as a rejected password or an
    // untrusted TLS certificate.
    let connectionError: Error | undefined;
    client.on('error', (error: Error) => {
      connectionError ??= error;
      this.logger.debug(`Redis connection error: ${error.message}`);
    });
    try {
      await client.connect();
    } catch (error) {
      throw new RedisUnavailableError(
        this.abandonReason ?? connectionFailure(client, connectionError ?? error).replace(/\.$/, ''),
      );
    }
    // ioredis reports a failed SELECT only through 'error' and then carries
    // on in database 0, where the call would consume another backend's jobs.
    if (connectionError !== undefined) {
      throw new RedisUnavailableError(describeHandshakeError(connectionError));
    }
    client.once('end', () => {
      this.connectionLost = true;
      this.stop.request('connectionLost');
    });
    return client;
  }

  /**
   * Probes the requested queues. A server that rejects the probe, because the
   * URL lacks the password, the user lacks the rights or the server is
   * loading, makes Redis unavailable for this call.
   */
  private async firstProbe(client: DrainClient): Promise<Map<QueueName, QueueProbe>> {
    try {
      return await this.guard(probeQueues(client, this.config.redis.keyPrefix, this.options.queues, Date.now()));
    } catch (error) {
      const rejection = serverRejection(error);
      if (rejection !== undefined) {
        throw new RedisUnavailableError(rejection);
      }
      throw error;
    }
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
  private async consumeAll(client: DrainClient, plans: readonly QueuePlan[]): Promise<QueueReport[]> {
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

  private async consumeQueue(client: DrainClient, plan: QueuePlan): Promise<QueueReport> {
    const { queue } = plan;
    const connection = this.sharedConnection(client);
    const createWorker = (processor: Processor, onFetch: (token: string) => void) => {
      const worker = new DrainWorker(queue, processor, connection, client, {
        keyPrefix: this.config.redis.keyPrefix,
        concurrency: this.config.queues.concurrency[queue],
        lockDurationMs: this.config.queues.lockDurationMs,
        backoffStrategy: jobBackoff(queue, () => this.registry.get(queue)),
        onFetch,
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
      return { plan, status: 'consumed', outcome: await this.guard(consumer.consume(plan.probe)) };
    } catch (error) {
      // A server that accepts the read-only probe may still reject the writes
      // that take a job: a replica, or a user without write rights.
      const rejection = serverRejection(error);
      if (rejection !== undefined) {
        this.rejection ??= rejection;
      } else if (!this.connectionLost) {
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
   * first use so that an idle call skips BullMQ's script set-up. With
   * `shared` and `skipVersionCheck`, BullMQ neither closes the client nor sends INFO.
   */
  private sharedConnection(client: DrainClient): RedisConnection {
    if (this.connection === undefined) {
      this.connection = new RedisConnection(client, { shared: true, blocking: false, skipVersionCheck: true });
      // Client errors also end the call through the client's 'end' event.
      this.connection.on('error', () => undefined);
    }
    return this.connection;
  }

  /**
   * Returns the state of the consumed queues at the end of the call, probing
   * only those whose state the call does not know. A queue that stopped idle
   * without a failed job had nothing runnable left, and while none of its
   * delayed jobs has come due they are those of the first probe. Skipping the
   * probe for them saves a command on most calls that found work.
   */
  private async probeConsumedQueues(
    client: DrainClient,
    reports: readonly QueueReport[],
  ): Promise<Map<QueueName, QueueProbe>> {
    const now = Date.now();
    const finalProbes = new Map<QueueName, QueueProbe>();
    const unknown: QueueName[] = [];
    for (const report of reports) {
      if (report.plan.kind !== 'consume') {
        continue;
      }
      const known = knownFinalState(report, now);
      if (known === undefined) {
        unknown.push(report.plan.queue);
      } else {
        finalProbes.set(report.plan.queue, known);
      }
    }
    if (unknown.length === 0) {
      return finalProbes;
    }
    const probed = await this.guard(probeQueues(client, this.config.redis.keyPrefix, unknown, now));
    return new Map([...finalProbes, ...probed]);
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
        const idleAt = outcome.idleSince === null ? null : outcome.idleSince - startedAt;
        // BullMQ hands out no job once a queue is paused, so a queue paused
        // during the call looks idle to its consumer.
        const pausedDuringCall = outcome.stoppedBy === 'idle' && probe.paused;
        return {
          processed: outcome.processed,
          failed: outcome.failed,
          idleAt: pausedDuringCall && remaining > 0 ? null : idleAt,
          stoppedBy: pausedDuringCall ? 'paused' : outcome.stoppedBy,
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
        this.abandonReason ?? (cause === undefined ? 'the connection was lost during the call' : describe(cause)),
        true,
      );
    }
  }

  private async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) {
      clearTimeout(timer);
    }
    this.stop.dispose();
    await Promise.allSettled(this.workers.map((worker) => worker.close(true)));
    await this.connection?.close().catch(() => undefined);
    // ioredis 6 arms a 2 s timer on disconnect() that only a socket 'close'
    // clears, so calling it on a connection that has already ended would keep
    // a one-shot process alive for 2 s.
    if (this.client !== undefined && this.client.status !== 'end') {
      this.client.disconnect();
    }
  }
}

/**
 * Returns the end state of a queue that needs no probe to know it, or
 * `undefined`. The first probe still holds when every job it found completed
 * and nothing ran that adds jobs. A failure may schedule a retry, and a job
 * scheduler adds its next job. A queue that went idle before its probed jobs
 * ran was held back by a rate limit or emptied by another consumer.
 */
function knownFinalState(report: QueueReport, now: number): QueueProbe | undefined {
  if (report.status !== 'consumed' || report.outcome.stoppedBy !== 'idle') {
    return undefined;
  }
  const { outcome } = report;
  const { probe } = report.plan;
  if (outcome.failed > 0 || outcome.schedulerJobs > 0 || outcome.processed < runnableJobs(probe)) {
    return undefined;
  }
  if (probe.nextDueAt !== null && probe.nextDueAt <= now) {
    return undefined;
  }
  return { ...probe, waiting: 0, due: 0, expiredLocks: 0 };
}

/** Returns the error's message without a final period, for use inside a sentence. */
function describe(error: unknown): string {
  return redisErrorMessage(error).replace(/\.$/, '');
}

function describeHandshakeError(error: Error): string {
  if (isMissingDatabaseError(error)) {
    return `the database number in REDIS_URL does not exist on this server (${describe(error)})`;
  }
  return describe(error);
}
