import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

import { AppConfig } from '../../config/app-config';
import { CronMessages } from '../cron.messages';
import { isExpectedToken } from './token-comparison';

const SECRET_HEADERS = new Set(['x-cron-secret', 'x-cron-token']);
const BEARER_CREDENTIAL = /^bearer +(.*)$/i;

/**
 * Admits a request only when every credential header it carries contains the
 * expected token: `X-Cron-Secret`, `X-Cron-Token` and `Authorization: Bearer`.
 *
 * Headers are read from the raw list, because Node keeps only the first
 * `Authorization` line and joins repeated custom headers with ", ": a header
 * sent twice counts twice, and an empty one counts as a wrong credential.
 * Every rejection has the same message, so a caller cannot learn which part
 * was wrong.
 */
@Injectable()
export class CronTokenGuard implements CanActivate {
  constructor(private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const expected = this.config.drain.token;
    const credentials = readCredentials(context.switchToHttp().getRequest<Request>());
    if (expected === undefined || credentials.length === 0) {
      throw new UnauthorizedException(CronMessages.invalidToken);
    }
    // Every credential is compared, even after a mismatch, so that the time
    // taken does not depend on which one was wrong.
    const matches = credentials.map((credential) => credential !== undefined && isExpectedToken(credential, expected));
    if (!matches.every(Boolean)) {
      throw new UnauthorizedException(CronMessages.invalidToken);
    }
    return true;
  }
}

/**
 * Returns one entry per credential header line; `undefined` stands for an
 * `Authorization` header that does not use the Bearer scheme.
 */
function readCredentials(request: Request): (string | undefined)[] {
  const credentials: (string | undefined)[] = [];
  const { rawHeaders } = request;
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index]!.toLowerCase();
    const value = rawHeaders[index + 1]!;
    if (SECRET_HEADERS.has(name)) {
      credentials.push(value.trim());
    } else if (name === 'authorization') {
      credentials.push(BEARER_CREDENTIAL.exec(value.trim())?.[1]);
    }
  }
  return credentials;
}
