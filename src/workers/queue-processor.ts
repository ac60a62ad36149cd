import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, type Type } from '@nestjs/common';
import type { Job, WorkerOptions } from 'bullmq';

import { jobBackoff } from '../queues/job-backoff';
import { JobHandlerRegistry } from '../queues/job-handler.registry';
import type { QueueName } from '../queues/queue-names';
import { RunningJobs } from '../queues/running-jobs';
import { WorkerErrorLog } from './worker-error-log';

/**
 * Always-on worker of one queue. It passes each job to the queue's
 * `@JobHandler`, the same one that drain calls use.
 */
export abstract class QueueProcessor extends WorkerHost {
  abstract readonly queue: QueueName;
  private runningJobs: RunningJobs | undefined;
  private errorLog: WorkerErrorLog | undefined;

  constructor(private readonly registry: JobHandlerRegistry) {
    super();
  }

  /** Jobs in progress; `undefined` when the queue has no handler. */
  get running(): RunningJobs | undefined {
    const handler = this.registry.get(this.queue);
    if (this.runningJobs === undefined && handler !== undefined) {
      this.runningJobs = new RunningJobs(this.queue, handler);
    }
    return this.runningJobs;
  }

  // BullMQ passes an abort signal only to processors that declare a third parameter.
  process(job: Job, token?: string, signal?: AbortSignal): Promise<unknown> {
    const running = this.running;
    if (running === undefined) {
      return Promise.reject(new Error(`Queue ${this.queue} has no job handler.`));
    }
    return running.process(job, token, signal);
  }

  /**
   * Logs the errors that the worker reports, such as a refused reconnection
   * while Redis is down, through the application's logger and at most once a
   * minute. Without a listener, BullMQ 6 prints each one to the console.
   */
  @OnWorkerEvent('error')
  onWorkerError(error: Error): void {
    this.errorLog ??= new WorkerErrorLog(new Logger(QueueProcessor.name), this.queue);
    this.errorLog.report(error);
  }
}

/**
 * Creates the `@Processor` class of one queue with worker options taken from
 * the validated configuration when the module is built.
 */
export function createQueueProcessor(
  queue: QueueName,
  options: Omit<WorkerOptions, 'connection'>,
): Type<QueueProcessor> {
  // The decorator's options exist before the registry, which Nest injects into
  // the single instance of the class.
  let registry: JobHandlerRegistry | undefined;
  const backoffStrategy = jobBackoff(queue, () => registry?.get(queue));

  @Processor(queue, { ...options, settings: { ...options.settings, backoffStrategy } })
  class ConfiguredQueueProcessor extends QueueProcessor {
    readonly queue = queue;

    constructor(@Inject(JobHandlerRegistry) injectedRegistry: JobHandlerRegistry) {
      super(injectedRegistry);
      registry = injectedRegistry;
    }
  }
  Object.defineProperty(ConfiguredQueueProcessor, 'name', { value: `QueueProcessor(${queue})` });
  return ConfiguredQueueProcessor;
}
