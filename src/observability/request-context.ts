import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

import type { NextFunction, Request, Response } from 'express';

/** Header that carries the request id in both directions. */
export const REQUEST_ID_HEADER = 'X-Request-Id';

/**
 * Incoming ids accepted as they are: up to 128 letters, digits and `._:@/+=-`,
 * which covers UUIDs, trace ids and base64 ids. Anything else is replaced, so
 * that a caller cannot inject line breaks or markup into the logs.
 */
const ACCEPTED_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

interface RequestContext {
  readonly requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Returns the id of the HTTP request whose code is running, or `undefined` outside a request. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/**
 * Express middleware that gives every request an id: the caller's
 * `X-Request-Id` when it is acceptable, otherwise a new UUID. The id is echoed
 * in the response and stays available to everything the request runs,
 * including the jobs that a drain call processes.
 */
export function requestIdMiddleware(request: Request, response: Response, next: NextFunction): void {
  const requestId = acceptedRequestId(request.headers['x-request-id']) ?? randomUUID();
  response.setHeader(REQUEST_ID_HEADER, requestId);
  storage.run({ requestId }, next);
}

function acceptedRequestId(header: string | string[] | undefined): string | undefined {
  // Node joins a repeated X-Request-Id with ", ", which the pattern rejects.
  return typeof header === 'string' && ACCEPTED_REQUEST_ID.test(header) ? header : undefined;
}
