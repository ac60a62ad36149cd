import { Logger } from '@nestjs/common';
import type { BackoffStrategy } from 'bullmq';

import type { QueueJobHandler } from './job-handler.interface';

const logger = new Logger('JobBackoff');

/**
 * Returns the backoff strategy that both modes give BullMQ's worker of
 * `queue`: the `backoff` method of the queue's handler, found through
 * `handlerOf` when a job needs it. A job whose backoff type the handler does
 * not serve is failed, with a warning, because BullMQ leaves a job active
 * until its lock expires when its strategy is unknown.
 */
export function jobBackoff(queue: string, handlerOf: () => QueueJobHandler | undefined): BackoffStrategy {
  return (attemptsMade, type, error, job) => {
    const handler = handlerOf();
    if (handler?.backoff !== undefined) {
      return handler.backoff(attemptsMade, type, error, job);
    }
    logger.warn(
      `Job ${job?.id ?? '(unknown)'} of ${queue} names the backoff type "${type ?? ''}", which BullMQ does not know, so it fails without a retry. Add a backoff() method to the job handler of ${queue}, or use the fixed or exponential type.`,
    );
    return -1;
  };
}
