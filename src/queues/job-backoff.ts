import { Logger } from '@nestjs/common';
import type { BackoffStrategy } from 'bullmq';

import type { QueueJobHandler } from './job-handler.interface';

const logger = new Logger('JobBackoff');

/**
 * Returns the backoff strategy that both modes give BullMQ's worker of
 * `queue`: the `backoff` method of the queue's handler, found through
 * `handlerOf` when a job needs it. A job fails without a retry, with a
 * warning, when the handler has no such method, when the method throws, or
 * when it returns anything but a finite delay of 0 or more or -1. BullMQ
 * would otherwise leave the job active until its lock expired, or lose it.
 */
export function jobBackoff(queue: string, handlerOf: () => QueueJobHandler | undefined): BackoffStrategy {
  return async (attemptsMade, type, error, job) => {
    const jobName = `Job ${job?.id ?? '(unknown)'} of ${queue}`;
    const handler = handlerOf();
    if (handler?.backoff === undefined) {
      logger.warn(
        `${jobName} names the backoff type "${type ?? ''}", which BullMQ does not know, so it fails without a retry. Add a backoff() method to the job handler of ${queue}, or use the fixed or exponential type.`,
      );
      return -1;
    }
    try {
      const delay: unknown = await handler.backoff(attemptsMade, type, error, job);
      if (typeof delay === 'number' && Number.isFinite(delay) && (delay >= 0 || delay === -1)) {
        return delay;
      }
      logger.warn(
        `${jobName} fails without a retry: the backoff() method of its handler returned ${String(delay)} for the type "${type ?? ''}". Return a delay in milliseconds of 0 or more, or -1.`,
      );
    } catch (backoffError) {
      logger.warn(
        `${jobName} fails without a retry: the backoff() method of its handler threw for the type "${type ?? ''}": ${String(backoffError)}`,
      );
    }
    return -1;
  };
}
