import { DiscoveryService } from '@nestjs/core';

import type { QueueName } from './queue-names';

const JOB_HANDLER_METADATA = DiscoveryService.createDecorator<QueueName>();

export const JOB_HANDLER_KEY = JOB_HANDLER_METADATA.KEY;

/**
 * Marks an injectable class as the handler of a queue. The class must
 * implement `QueueJobHandler` and be a provider of some module; it is found at
 * start-up. Exactly one handler may name a queue.
 *
 * @example
 * ```ts
 * @Injectable()
 * @JobHandler('batch-jobs')
 * export class BatchJobsHandler implements QueueJobHandler<BatchData, BatchResult> { … }
 * ```
 */
export function JobHandler(queue: QueueName): ClassDecorator {
  return JOB_HANDLER_METADATA(queue);
}

export { JOB_HANDLER_METADATA };
