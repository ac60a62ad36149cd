import { ApiExtraModels, ApiProperty, getSchemaPath } from '@nestjs/swagger';

import { QUEUE_NAMES } from '../queues/queue-names';
import type { DrainResult, DrainStopReason, QueueDrainResult, QueueStopReason } from '../cron/drain-result';

const QUEUE_STOP_REASONS: readonly QueueStopReason[] = [
  'idle',
  'maxJobs',
  'maxDuration',
  'paused',
  'noHandler',
  'error',
];
const DRAIN_STOP_REASONS: readonly DrainStopReason[] = ['idle', 'maxJobs', 'maxDuration'];

/** OpenAPI schema of one queue's entry in a drain response. */
export class QueueDrainResultSchema implements QueueDrainResult {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Jobs completed in this call.' })
  processed!: number;

  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'Jobs whose handler threw in this call. They may be retried later under their attempts and backoff.',
  })
  failed!: number;

  @ApiProperty({
    type: 'integer',
    minimum: 0,
    nullable: true,
    description:
      'Milliseconds from the start of the call until the queue first had no runnable job. 0 when the probe found none, null when it never became idle within the call.',
  })
  idleAt!: number | null;

  @ApiProperty({
    enum: QUEUE_STOP_REASONS,
    description:
      'Why the queue stopped: no runnable job left, maxJobsPerQueue reached, deadline, queue paused, no handler registered, or an unexpected error that the server log describes.',
  })
  stoppedBy!: QueueStopReason;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'Runnable jobs left when the queue stopped.' })
  remaining!: number;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'Delayed jobs that are not due yet.' })
  delayed!: number;

  @ApiProperty({
    type: 'integer',
    minimum: 0,
    nullable: true,
    description: 'Milliseconds until the earliest delayed job is due, or null when there is none.',
  })
  nextDueInMs!: number | null;
}

/** OpenAPI schema of the 200 response of the drain endpoint. */
@ApiExtraModels(QueueDrainResultSchema)
export class DrainResultSchema implements DrainResult {
  @ApiProperty({ format: 'date-time', example: '2026-12-04T19:00:00.000Z', description: 'When the call started.' })
  startedAt!: string;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'Wall-clock duration of the call in milliseconds.' })
  durationMs!: number;

  @ApiProperty({
    enum: DRAIN_STOP_REASONS,
    description: 'idle when every queue stopped idle, otherwise maxDuration or maxJobs.',
  })
  stoppedBy!: DrainStopReason;

  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'Commands this call sent to Redis, the connection handshake included. A script call counts as one.',
  })
  redisCommands!: number;

  @ApiProperty({
    type: 'object',
    description: `One entry per requested queue, keyed by queue name: ${QUEUE_NAMES.join(', ')}.`,
    additionalProperties: { $ref: getSchemaPath(QueueDrainResultSchema) },
  })
  queues!: DrainResult['queues'];
}

/** OpenAPI schema of Nest's error body, used by every error status of the API. */
export class ErrorResponseSchema {
  @ApiProperty({ type: 'integer', example: 400 })
  statusCode!: number;

  @ApiProperty({ example: 'Bad Request' })
  error!: string;

  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    description: 'What is wrong and how to fix it. A 400 lists one sentence per invalid query parameter.',
  })
  message!: string | string[];
}
