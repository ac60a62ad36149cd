import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

import { AppConfig } from '../../config/app-config';
import { TokenComparison } from '../../cron/guards/token-comparison';

const BEARER_CREDENTIAL = /^bearer +(.*)$/i;

/**
 * Admits a scrape only with `Authorization: Bearer <METRICS_TOKEN>` when that
 * token is set; without it the metrics endpoint is open.
 */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  private readonly token: TokenComparison | undefined;

  constructor(config: AppConfig) {
    const { token } = config.metrics;
    this.token = token === undefined ? undefined : new TokenComparison([token]);
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.token === undefined) {
      return true;
    }
    const header = context.switchToHttp().getRequest<Request>().headers.authorization;
    const credential = header === undefined ? undefined : BEARER_CREDENTIAL.exec(header.trim())?.[1];
    if (credential === undefined || !this.token.isAccepted(credential)) {
      throw new UnauthorizedException(
        'Missing or invalid metrics token. Send METRICS_TOKEN as Authorization: Bearer <token>, for example with the authorization setting of the Prometheus scrape job.',
      );
    }
    return true;
  }
}
