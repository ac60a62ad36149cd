/**
 * Queues that the reference backend consumes. The order is the order in which
 * a drain call visits them and in which responses list them.
 */
export const QUEUE_NAMES = ['batch-jobs', 'dsar-jobs', 'journey-jobs', 'retrain-jobs', 'seed-jobs'] as const;

export type QueueName = (typeof QUEUE_NAMES)[number];

export function isQueueName(value: string): value is QueueName {
  return (QUEUE_NAMES as readonly string[]).includes(value);
}
