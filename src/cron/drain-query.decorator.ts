import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

/** Query parameters by name. A parameter given more than once maps to the list of its values. */
export type RawQuery = Record<string, string | string[]>;

/**
 * Parses the query string of a request URL. Every pair is kept, however many
 * there are: Node's `querystring`, which Express 5 uses by default, drops the
 * pairs after the first 1,000, so a parameter placed after 1,000 `&` would
 * otherwise escape validation. The result has no prototype, so names such as
 * `__proto__` become ordinary keys.
 */
export function parseRawQuery(url: string): RawQuery {
  const query: RawQuery = Object.create(null) as RawQuery;
  const start = url.indexOf('?');
  if (start === -1) {
    return query;
  }
  for (const [name, value] of new URLSearchParams(url.slice(start + 1))) {
    const previous = query[name];
    if (previous === undefined) {
      query[name] = value;
    } else {
      query[name] = [...(Array.isArray(previous) ? previous : [previous]), value];
    }
  }
  return query;
}

/**
 * Reads the request's query parameters from the URL itself, whatever the
 * application's Express `query parser` setting, so that the drain endpoint
 * validates exactly what the caller sent.
 */
export const DrainQuery = createParamDecorator((_data: unknown, context: ExecutionContext): RawQuery => {
  const request = context.switchToHttp().getRequest<Request>();
  return parseRawQuery(request.originalUrl);
});
