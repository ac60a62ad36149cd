import { IsIn, IsOptional, ValidateBy, type ValidationOptions } from 'class-validator';

import { QUEUE_NAMES } from '../queues/queue-names';
import { LOG_LEVELS, RATE_LIMIT_STORES } from './app-config';
import {
  InvalidValueError,
  parseAddressList,
  parseConcurrency,
  parseFlag,
  parseInteger,
  parseQueueList,
  parseRedisUrl,
  parseTrustProxy,
} from './env-parsers';

/**
 * Validates that a variable is accepted by `parse`. The message completes
 * "VARIABLE must be …" with the parser's own description of what is accepted.
 */
function Parses(parse: (value: string) => unknown, options?: ValidationOptions): PropertyDecorator {
  const failure = (value: unknown): string | undefined => {
    try {
      parse(String(value));
      return undefined;
    } catch (error) {
      return error instanceof InvalidValueError ? error.message : 'a valid value';
    }
  };
  return ValidateBy(
    {
      name: 'parses',
      validator: {
        validate: (value: unknown) => failure(value) === undefined,
        defaultMessage: (args) => `${args?.property} must be ${failure(args?.value)}.`,
      },
    },
    options,
  );
}

const integer = (min: number, max: number) => (value: string) => parseInteger(value, min, max);

/**
 * The environment variables that the application reads, as strings. Blank
 * values count as unset. Validation messages name the variable and what it
 * accepts; they repeat a value only when it cannot be a secret.
 */
export class EnvironmentVariables {
  @IsOptional()
  @Parses(parseRedisUrl)
  REDIS_URL?: string;

  @IsOptional()
  @Parses(parseFlag)
  REDIS_CLUSTER?: string;

  @IsOptional()
  @Parses((value) => {
    // Surrounding whitespace, such as the \r of a CRLF .env file, is trimmed as for the other variables.
    const prefix = value.trim();
    if (prefix.includes(':') || /\s/.test(prefix)) {
      throw new InvalidValueError('a key prefix without colons or spaces, such as bull or {bull}');
    }
  })
  QUEUE_KEY_PREFIX?: string;

  @IsOptional()
  @Parses((value) => parseConcurrency(value, QUEUE_NAMES))
  QUEUE_CONCURRENCY?: string;

  @IsOptional()
  @Parses(integer(1_000, 3_600_000))
  QUEUE_LOCK_DURATION_MS?: string;

  @IsOptional()
  @Parses(parseFlag)
  WORKER_INPROCESS?: string;

  @IsOptional()
  @Parses(parseQueueList)
  WORKER_QUEUES?: string;

  @IsOptional()
  @Parses(integer(1, 3_600))
  WORKER_DRAIN_DELAY_SECONDS?: string;

  @IsOptional()
  @Parses(integer(5_000, 3_600_000))
  WORKER_STALLED_INTERVAL_MS?: string;

  @IsOptional()
  @Parses(integer(0, 600_000))
  WORKER_SHUTDOWN_GRACE_MS?: string;

  DRAIN_QUEUES_TOKEN?: string;

  CRON_SECRET?: string;

  CRON_TOKEN?: string;

  DRAIN_QUEUES_TOKEN_PREVIOUS?: string;

  @IsOptional()
  @Parses(integer(1, 10_000))
  DRAIN_QUEUES_RATE_LIMIT?: string;

  @IsOptional()
  @IsIn(RATE_LIMIT_STORES, { message: `DRAIN_RATE_LIMIT_STORE must be ${RATE_LIMIT_STORES.join(' or ')}.` })
  DRAIN_RATE_LIMIT_STORE?: string;

  @IsOptional()
  @Parses(parseAddressList)
  CRON_ALLOWED_IPS?: string;

  @IsOptional()
  @Parses(parseTrustProxy)
  TRUST_PROXY?: string;

  @IsOptional()
  @Parses(parseQueueList)
  DRAIN_DEFAULT_QUEUES?: string;

  @IsOptional()
  @Parses(integer(0, 60_000))
  DRAIN_ABORT_GRACE_MS?: string;

  @IsOptional()
  @Parses(integer(1, 65_535))
  PORT?: string;

  @IsOptional()
  @IsIn(['json', 'pretty'], { message: 'LOG_FORMAT must be json or pretty.' })
  LOG_FORMAT?: string;

  @IsOptional()
  @IsIn(LOG_LEVELS, { message: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}.` })
  LOG_LEVEL?: string;

  @IsOptional()
  @Parses(integer(0, 3_600_000))
  HEALTH_READY_CACHE_MS?: string;

  @IsOptional()
  @Parses(parseFlag)
  API_DOCS_ENABLED?: string;

  @IsOptional()
  @Parses(parseFlag)
  METRICS_ENABLED?: string;

  METRICS_TOKEN?: string;

  NODE_ENV?: string;
}

export const ENVIRONMENT_VARIABLE_NAMES = [
  'REDIS_URL',
  'REDIS_CLUSTER',
  'QUEUE_KEY_PREFIX',
  'QUEUE_CONCURRENCY',
  'QUEUE_LOCK_DURATION_MS',
  'WORKER_INPROCESS',
  'WORKER_QUEUES',
  'WORKER_DRAIN_DELAY_SECONDS',
  'WORKER_STALLED_INTERVAL_MS',
  'WORKER_SHUTDOWN_GRACE_MS',
  'DRAIN_QUEUES_TOKEN',
  'CRON_SECRET',
  'CRON_TOKEN',
  'DRAIN_QUEUES_TOKEN_PREVIOUS',
  'DRAIN_QUEUES_RATE_LIMIT',
  'DRAIN_RATE_LIMIT_STORE',
  'CRON_ALLOWED_IPS',
  'TRUST_PROXY',
  'DRAIN_DEFAULT_QUEUES',
  'DRAIN_ABORT_GRACE_MS',
  'PORT',
  'LOG_FORMAT',
  'LOG_LEVEL',
  'HEALTH_READY_CACHE_MS',
  'API_DOCS_ENABLED',
  'METRICS_ENABLED',
  'METRICS_TOKEN',
  'NODE_ENV',
] as const satisfies readonly (keyof EnvironmentVariables)[];
