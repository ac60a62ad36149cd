import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

import { DrainMetrics } from './drain-metrics';

/**
 * Counts the drain endpoint's responses by status once each is sent, so that
 * requests rejected by the rate limit, the allowlist, the token or the query
 * check are counted too.
 */
@Injectable()
export class DrainResponsesMiddleware implements NestMiddleware {
  constructor(private readonly metrics: DrainMetrics) {}

  use(request: Request, response: Response, next: NextFunction): void {
    response.once('finish', () => this.metrics.recordResponse(request.method, response.statusCode));
    next();
  }
}
