import {
  ArgumentsHost,
  Catch,
  InternalServerErrorException,
  ServiceUnavailableException,
  type ExceptionFilter,
} from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { Response } from 'express';

import { CronMessages, REDIS_UNAVAILABLE_RETRY_AFTER_SECONDS } from './cron.messages';
import { RedisNotConfiguredError, RedisUnavailableError } from './drain.errors';

/**
 * Maps the drain's Redis errors to responses in Nest's usual error shape: 500 when
 * REDIS_URL is missing, 503 with `Retry-After` when Redis is unavailable.
 * The Redis host and the underlying error stay in the server log.
 */
@Catch(RedisNotConfiguredError, RedisUnavailableError)
export class DrainErrorFilter extends BaseExceptionFilter implements ExceptionFilter {
  override catch(error: RedisNotConfiguredError | RedisUnavailableError, host: ArgumentsHost): void {
    if (error instanceof RedisUnavailableError) {
      host
        .switchToHttp()
        .getResponse<Response>()
        .setHeader('Retry-After', String(REDIS_UNAVAILABLE_RETRY_AFTER_SECONDS));
      const message = error.lostDuringCall ? CronMessages.redisLostDuringCall : CronMessages.redisUnavailable;
      super.catch(new ServiceUnavailableException(message), host);
      return;
    }
    super.catch(new InternalServerErrorException(error.message), host);
  }
}
