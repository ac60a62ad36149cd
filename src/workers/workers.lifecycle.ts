import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';

import { AppConfig } from '../config/app-config';
import { settlesWithin } from '../lifecycle/settles-within';
import { ShutdownCoordinator } from '../lifecycle/shutdown-coordinator';
import { assertDatabaseExists } from './database-check';
import type { QueueProcessor } from './queue-processor';
import { queuesConsumedTwice } from './queue-overlap';
import { dropWorkerConnections } from './worker-connections';
import { WorkersMessages } from './workers.messages';

export const QUEUE_PROCESSORS = Symbol('QUEUE_PROCESSORS');
export const WORKERS_HOST = Symbol('WORKERS_HOST');

/** The process that runs the workers: the API, or the standalone worker without HTTP. */
export type WorkersHost = 'api' | 'standalone';

/**
 * Time that putting jobs back and closing the workers may take together once
 * the grace period is over. Both wait for Redis, which queues commands while
 * it is unreachable, so after this the connections are dropped, and a job
 * whose result or put-back was not written stays active until its lock
 * expires.
 */
const CLOSE_TIMEOUT_MS = 5_000;

/**
 * Time that closing may take once the connections are dropped. ioredis waits
 * up to 2 s (its `disconnectTimeout`) for a server that stopped responding
 * to close the socket.
 */
const DROPPED_CLOSE_TIMEOUT_MS = 3_000;

/**
 * Starts the always-on workers of the queues that have a handler and stops
 * them gracefully.
 *
 * On shutdown every worker stops fetching at once (`onModuleDestroy`, which
 * Nest runs before any `beforeApplicationShutdown`). Running jobs then get
 * `WORKER_SHUTDOWN_GRACE_MS` to finish; jobs still running after it, or after
 * a second stop signal, see their abort signal and are put back in their
 * queue, where the next consumer takes them at once. The workers and their
 * connections are closed before the application closes anything else. When
 * Redis does not respond, putting back and closing give up after 5 s and the
 * connections are dropped, so shutdown ends within the grace period plus
 * about 8 s.
 */
@Injectable()
export class WorkersLifecycle implements OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger(WorkersLifecycle.name);
  private started: QueueProcessor[] = [];
  private closing: Promise<void> | undefined;

  constructor(
    @Inject(QUEUE_PROCESSORS) private readonly processors: readonly QueueProcessor[],
    @Inject(WORKERS_HOST) private readonly host: WorkersHost,
    private readonly config: AppConfig,
    private readonly shutdown: ShutdownCoordinator,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.warnAboutQueuesConsumedTwice();
    const idle = this.processors.filter((processor) => processor.running === undefined);
    this.started = this.processors.filter((processor) => processor.running !== undefined);
    // A worker connects as soon as it is created; close the ones that would
    // consume a queue without a handler before they fetch anything.
    await Promise.all(idle.map((processor) => processor.worker.close()));
    const { url, cluster } = this.config.redis;
    if (this.started.length > 0 && url !== undefined && !cluster) {
      try {
        await assertDatabaseExists(url);
      } catch (error) {
        await Promise.all(this.started.map((processor) => processor.worker.close()));
        throw error;
      }
    }
    for (const processor of this.started) {
      processor.worker.run().catch((error: unknown) => {
        this.logger.error(`The worker of ${processor.queue} stopped: ${String(error)}`);
      });
    }
    const summary = this.started
      .map((processor) => `${processor.queue} (concurrency ${processor.worker.concurrency})`)
      .join(', ');
    this.logger.log(summary === '' ? WorkersMessages.noWorkerStarted : WorkersMessages.workersStarted(summary));
  }

  onModuleDestroy(): void {
    void this.stopFetching();
  }

  async beforeApplicationShutdown(): Promise<void> {
    const processors = this.started;
    if (processors.length === 0) {
      return;
    }
    const closed = this.stopFetching();

    const finished = Promise.all(processors.map((processor) => processor.running!.whenEmpty()));
    const finishedInTime = await settlesWithin(finished, this.config.workers.shutdownGraceMs, this.shutdown.expedited);
    const closeDeadline = Date.now() + CLOSE_TIMEOUT_MS;
    if (!finishedInTime) {
      const putBack = Promise.all(processors.map((processor) => this.putBackRunningJobs(processor)));
      await settlesWithin(putBack, CLOSE_TIMEOUT_MS);
    }

    if (!(await settlesWithin(closed, Math.max(0, closeDeadline - Date.now())))) {
      this.logger.warn(WorkersMessages.closeTimedOut(CLOSE_TIMEOUT_MS));
      // Worker.disconnect() would wait for connections that are still connecting (see dropWorkerConnections).
      processors.forEach((processor) => dropWorkerConnections(processor.worker));
      if (!(await settlesWithin(closed, DROPPED_CLOSE_TIMEOUT_MS))) {
        this.logger.error(WorkersMessages.closeFailed(DROPPED_CLOSE_TIMEOUT_MS));
      }
    }
    this.started = [];
    this.logger.log('Always-on workers closed.');
  }

  /**
   * Starts closing every started worker, once. BullMQ's `close()` marks the
   * worker as closing, so that it fetches no further job, interrupts its
   * blocking wait for a job, and resolves once its running jobs have settled
   * and its connections are closed.
   */
  private stopFetching(): Promise<void> {
    this.closing ??= Promise.allSettled(this.started.map((processor) => processor.worker.close())).then(
      () => undefined,
    );
    return this.closing;
  }

  private async putBackRunningJobs(processor: QueueProcessor): Promise<void> {
    const running = processor.running!;
    if (running.size > 0) {
      this.logger.warn(WorkersMessages.putBack(running.size, processor.queue));
    }
    running.interrupt();
    processor.worker.cancelAllJobs('The process is shutting down.');
    await running.putBackUnfinished();
  }

  private warnAboutQueuesConsumedTwice(): void {
    if (this.host !== 'api') {
      return;
    }
    const queues = queuesConsumedTwice(this.config);
    if (queues.length > 0) {
      this.logger.warn(WorkersMessages.queuesConsumedTwice(queues));
    }
  }
}
