import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, ValidateBy, type ValidationOptions } from 'class-validator';

import { QUEUE_NAMES, type QueueName } from '../queues/queue-names';
import { DRAIN_DEFAULTS, DRAIN_LIMITS, type DrainOptions } from './drain-result';

const DECIMAL_INTEGER = /^\d+$/;

/** Validates a decimal integer string within bounds: no sign, exponent, fraction or spaces. */
function IsIntegerString(min: number, max: number, options?: ValidationOptions): PropertyDecorator {
  const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min} (at most ${max})` : `from ${min} to ${max}`;
  return ValidateBy(
    {
      name: 'isIntegerString',
      validator: {
        validate: (value: unknown) => {
          if (typeof value !== 'string' || !DECIMAL_INTEGER.test(value)) {
            return false;
          }
          const number = Number(value);
          return Number.isSafeInteger(number) && number >= min && number <= max;
        },
        defaultMessage: (args) => `${args?.property} must be a whole number ${range}.`,
      },
    },
    options,
  );
}

const givenOnce = (property: string) => ({ message: `${property} must be given once, as a single value.` });

/**
 * Query parameters of the drain endpoint, as strings. A present parameter
 * must be valid; the pipe rejects unknown ones. class-validator runs the
 * decorators from the bottom up, so the single-value check comes first.
 */
export class DrainQueryDto {
  @ApiPropertyOptional({
    enum: QUEUE_NAMES,
    description: 'One queue to process. Default: every queue in DRAIN_DEFAULT_QUEUES.',
  })
  @IsOptional()
  @IsIn(QUEUE_NAMES, { message: `queue must be one of: ${QUEUE_NAMES.join(', ')}.` })
  @IsString(givenOnce('queue'))
  queue?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: DRAIN_LIMITS.maxDurationMs.min,
    maximum: DRAIN_LIMITS.maxDurationMs.max,
    default: DRAIN_DEFAULTS.maxDurationMs,
    description: 'Hard wall-clock cap for the whole call, in milliseconds.',
  })
  @IsOptional()
  @IsIntegerString(DRAIN_LIMITS.maxDurationMs.min, DRAIN_LIMITS.maxDurationMs.max)
  @IsString(givenOnce('maxDurationMs'))
  maxDurationMs?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: DRAIN_LIMITS.maxConcurrentQueues.min,
    maximum: DRAIN_LIMITS.maxConcurrentQueues.max,
    default: DRAIN_DEFAULTS.maxConcurrentQueues,
    description: 'How many queues are processed at the same time.',
  })
  @IsOptional()
  @IsIntegerString(DRAIN_LIMITS.maxConcurrentQueues.min, DRAIN_LIMITS.maxConcurrentQueues.max)
  @IsString(givenOnce('maxConcurrentQueues'))
  maxConcurrentQueues?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: DRAIN_LIMITS.maxJobsPerQueue.min,
    description: 'Jobs taken from one queue in this call, completed plus failed. Default: unbounded.',
  })
  @IsOptional()
  @IsIntegerString(DRAIN_LIMITS.maxJobsPerQueue.min, DRAIN_LIMITS.maxJobsPerQueue.max)
  @IsString(givenOnce('maxJobsPerQueue'))
  maxJobsPerQueue?: string;

  toDrainOptions(): DrainOptions {
    const toNumber = (value: string | undefined) => (value === undefined ? undefined : Number(value));
    return {
      queues: this.queue === undefined ? undefined : [this.queue as QueueName],
      maxDurationMs: toNumber(this.maxDurationMs),
      maxConcurrentQueues: toNumber(this.maxConcurrentQueues),
      maxJobsPerQueue: toNumber(this.maxJobsPerQueue),
    };
  }
}

export const DRAIN_QUERY_PARAMETERS = ['queue', 'maxDurationMs', 'maxConcurrentQueues', 'maxJobsPerQueue'] as const;
