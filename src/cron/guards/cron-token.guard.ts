import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request, Response } from 'express';

import { AppConfig } from '../../config/app-config';
import { CronMessages } from '../cron.messages';
import { TokenComparison } from './token-comparison';

const SECRET_HEADERS = new Set(['x-cron-secret', 'x-cron-token']);
const BEARER_CREDENTIAL = /^bearer +(.*)$/i;

/**
 * Admits a request only when every credential header it carries contains an
 * accepted token: `X-Cron-Secret`, `X-Cron-Token` and `Authorization: Bearer`.
 * The accepted tokens are the expected one and, during a rotation, the
 * previous one (`DRAIN_QUEUES_TOKEN_PREVIOUS`).
 *
 * Headers are read from the raw list, because Node keeps only the first
 * `Authorization` line and joins repeated custom headers with ", ": a header
 * sent twice counts twice, and an empty one counts as a wrong credential.
 * Every rejection has the same message, so a caller cannot learn which part
 * was wrong.
 */
@Injectable()
export class CronTokenGuard implements CanActivate {
  private readonly tokens: TokenComparison | undefined;

  constructor(config: AppConfig) {
    const { token, previousToken } = config.drain;
    const accepted = [token, previousToken].filter((value) => value !== undefined);
    this.tokens = token === undefined ? undefined : new TokenComparison(accepted);
  }

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const credentials = readCredentials(http.getRequest<Request>());
    if (this.tokens === undefined || credentials.length === 0) {
      throw rejection(http.getResponse<Response>());
    }
    // Every credential is compared, even after a mismatch, so that the time
    // taken does not depend on which one was wrong.
    const tokens = this.tokens;
    const matches = credentials.map((credential) => credential !== undefined && tokens.isAccepted(credential));
    if (!matches.every(Boolean)) {
      throw rejection(http.getResponse<Response>());
    }
    return true;
  }
}

/** Builds the 401, announcing the Bearer scheme as HTTP requires of every 401 response. */
function rejection(response: Response): UnauthorizedException {
  response.setHeader('WWW-Authenticate', 'Bearer realm="drain-queues"');
  return new UnauthorizedException(CronMessages.invalidToken);
}

/**
 * Returns one entry per credential header line. The entry is `undefined` for
 * an `Authorization` header without the Bearer scheme or without a token.
 */
function readCredentials(request: Request): (string | undefined)[] {
  const credentials: (string | undefined)[] = [];
  const { rawHeaders } = request;
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index]!.toLowerCase();
    const value = rawHeaders[index + 1]!.trim();
    if (SECRET_HEADERS.has(name)) {
      credentials.push(value);
    } else if (name === 'authorization') {
      credentials.push(BEARER_CREDENTIAL.exec(value)?.[1]);
    }
  }
  return credentials;
}
