import { Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

const logger = new Logger('HTTP');

/**
 * Express middleware that logs one line per rejected or failed request:
 * method, path without the query, status, duration and client address. 5xx
 * responses are errors, other 4xx warnings, 404 and successful responses
 * debug lines. Headers are never logged, so a token cannot leak here.
 */
export function requestLogMiddleware(request: Request, response: Response, next: NextFunction): void {
  const startedAt = performance.now();
  response.once('finish', () => {
    const { statusCode } = response;
    const fields = {
      method: request.method,
      path: request.path,
      statusCode,
      durationMs: Math.round(performance.now() - startedAt),
      clientAddress: request.ip,
    };
    const line = `${fields.method} ${fields.path} answered ${statusCode} in ${fields.durationMs} ms.`;
    if (statusCode >= 500) {
      logger.error(line, fields);
    } else if (statusCode >= 400 && statusCode !== 404) {
      logger.warn(line, fields);
    } else {
      logger.debug(line, fields);
    }
  });
  next();
}
