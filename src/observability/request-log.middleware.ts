import { Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

import { canonicalAddress } from '../cron/guards/client-address';

const logger = new Logger('HTTP');

/**
 * Express middleware that logs one line per response: method, path without
 * the query, status, duration and client address. 5xx responses are logged
 * as errors, 4xx other than 404 as warnings, and the rest as debug lines,
 * which `LOG_LEVEL=log` drops. The line contains no header, so a token cannot
 * leak through it.
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
      clientAddress: canonicalAddress(request.ip) ?? request.ip,
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
