import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';

import { AppConfig } from '../config/app-config';
import { JOB_HANDLER_METADATA } from './job-handler.decorator';
import type { QueueJobHandler } from './job-handler.interface';
import type { QueueName } from './queue-names';
import { DUPLICATE_HANDLER, HANDLER_WITHOUT_HANDLE, SCOPED_HANDLER, UNKNOWN_HANDLER_QUEUE } from './queues.messages';

/**
 * Finds the `@JobHandler` classes at start-up and hands each queue's handler
 * to the always-on workers and the drain. A queue without a handler is never
 * consumed.
 */
@Injectable()
export class JobHandlerRegistry implements OnModuleInit {
  private readonly logger = new Logger(JobHandlerRegistry.name);
  private readonly handlers = new Map<QueueName, QueueJobHandler>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    const handlerNames = new Map<QueueName, string>();
    for (const wrapper of this.discovery.getProviders({ metadataKey: JOB_HANDLER_METADATA.KEY })) {
      const queue = this.discovery.getMetadataByDecorator(JOB_HANDLER_METADATA, wrapper);
      const name = String(wrapper.name);
      if (queue === undefined) {
        continue;
      }
      if (!this.config.queues.names.includes(queue)) {
        throw new Error(UNKNOWN_HANDLER_QUEUE(name, queue, this.config.queues.names));
      }
      if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient) {
        throw new Error(SCOPED_HANDLER(name));
      }
      const instance = wrapper.instance as Partial<QueueJobHandler> | undefined;
      if (typeof instance?.handle !== 'function') {
        throw new Error(HANDLER_WITHOUT_HANDLE(name));
      }
      const existing = handlerNames.get(queue);
      if (existing !== undefined) {
        throw new Error(DUPLICATE_HANDLER(queue, existing, name));
      }
      handlerNames.set(queue, name);
      this.handlers.set(queue, instance as QueueJobHandler);
    }

    const missing = this.config.queues.names.filter((queue) => !this.handlers.has(queue));
    if (missing.length > 0) {
      this.logger.log(
        `No job handler for ${missing.join(', ')}: their jobs stay queued until a handler is registered.`,
      );
    }
  }

  /** Returns the handler of `queue`, or `undefined` when none is registered. */
  get(queue: QueueName): QueueJobHandler | undefined {
    return this.handlers.get(queue);
  }
}
