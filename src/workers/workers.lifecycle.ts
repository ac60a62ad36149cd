import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';

import { AppConfig } from '../config/app-config';
import { ShutdownCoordinator } from '../lifecycle/shutdown-coordinator';
import type { QueueProcessor } from './queue-processor';

export const QUEUE_PROCESSORS = Symbol('QUEUE_PROCESSORS');

/**
 * Starts the always-on workers of the queues that have a handler and stops
 * them gracefully.
 *
 * On shutdown the workers stop fetching, running jobs get
 * `WORKER_SHUTDOWN_GRACE_MS` to finish, and jobs still running after it (or
 * after a second stop signal) are put back in their queue with their abort
 * signal fired. Workers and their connections close last, before the
 * application closes any queue.
 */
@Injectable()
export class WorkersLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WorkersLifecycle.name);
  private started: QueueProcessor[] = [];

  constructor(
    @Inject(QUEUE_PROCESSORS) private readonly processors: readonly QueueProcessor[],
    private readonly config: AppConfig,
    private readonly shutdown: ShutdownCoordinator,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const idle = this.processors.filter((processor) => processor.running === undefined);
    this.started = this.processors.filter((processor) => processor.running !== undefined);
    // A worker connects as soon as it is created; close the ones that would
    // consume a queue without a handler before they fetch anything.
    await Promise.all(idle.map((processor) => processor.worker.close()));
    for (const processor of this.started) {
      processor.worker.run().catch((error: unknown) => {
        this.logger.error(`The worker of ${processor.queue} stopped: ${String(error)}`);
      });
    }
    const summary = this.started
      .map((processor) => `${processor.queue} (concurrency ${processor.worker.concurrency})`)
      .join(', ');
    this.logger.log(
      summary === ''
        ? 'No always-on worker started: no queue has a handler.'
        : `Always-on workers started for ${summary}.`,
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    const processors = this.started;
    this.started = [];
    if (processors.length === 0) {
      return;
    }
    await Promise.all(processors.map((processor) => processor.worker.pause(true)));

    const finished = Promise.all(processors.map((processor) => processor.running!.whenEmpty()));
    const graceTimer = new AbortController();
    const graceOver = sleep(this.config.workers.shutdownGraceMs, undefined, {
      signal: AbortSignal.any([this.shutdown.expedited, graceTimer.signal]),
    }).catch(() => undefined);
    await Promise.race([finished, graceOver]);
    // A pending grace timer would keep the process alive after the jobs finished.
    graceTimer.abort();

    for (const processor of processors) {
      const running = processor.running!;
      if (running.size > 0) {
        this.logger.warn(`Putting ${running.size} running job(s) of ${processor.queue} back in the queue.`);
      }
      running.interrupt();
      processor.worker.cancelAllJobs('The process is shutting down.');
      await running.putBackUnfinished();
    }
    await Promise.all(processors.map((processor) => processor.worker.close(true)));
    this.logger.log('Always-on workers closed.');
  }
}
