import type { AppConfig } from '../config/app-config';
import type { QueueName } from '../queues/queue-names';

/**
 * Returns the queues that, in the API process, both an in-process worker and
 * a drain call without `queue` consume, when the configuration splits the
 * queues between the two modes.
 *
 * Two consumers of one queue are safe, because BullMQ locks every job, but a
 * drain call then competes with the workers and costs commands for nothing.
 * The default configuration, where the workers serve every queue and a drain
 * call names every queue, is no split: an always-on deployment simply does
 * not call the endpoint.
 */
export function queuesConsumedTwice(config: AppConfig): QueueName[] {
  const { workers, drain, queues } = config;
  if (!workers.inProcess) {
    return [];
  }
  const isSplit = workers.queues.length < queues.names.length || drain.defaultQueues.length < queues.names.length;
  if (!isSplit) {
    return [];
  }
  return drain.defaultQueues.filter((queue) => workers.queues.includes(queue));
}
