import { HttpStatus, Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/**
 * Rejects HEAD with 405. Express routes HEAD to the GET handler, so an uptime
 * monitor that checks the drain URL with HEAD and the token would otherwise
 * run a whole drain and discard its result.
 */
@Injectable()
export class RejectHeadMiddleware implements NestMiddleware {
  use(request: Request, response: Response, next: NextFunction): void {
    if (request.method !== 'HEAD') {
      next();
      return;
    }
    response.setHeader('Allow', 'GET, POST');
    response.status(HttpStatus.METHOD_NOT_ALLOWED).end();
  }
}
