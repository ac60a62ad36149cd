import { createHash } from 'node:crypto';

import {
  HttpException,
  HttpStatus,
  Injectable,
  ServiceUnavailableException,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerRequest,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { Request, Response } from 'express';
import ipaddr from 'ipaddr.js';

import { CronMessages, REDIS_UNAVAILABLE_RETRY_AFTER_SECONDS } from '../cron.messages';
import { ClientAddressResolver, type ClientAddress } from '../guards/client-address.resolver';
import { RateLimitStoreUnavailableError } from './rate-limit.errors';

/** Clients in one IPv6 /64 share a window: a provider usually assigns the whole /64 to one host. */
const IPV6_PREFIX_LENGTH = 64;

/**
 * `ThrottlerGuard` for the drain endpoint. It counts every request before the
 * other checks run, per client as `ClientAddressResolver` determines it, with
 * one window for GET and POST together. Over the limit it responds with 429,
 * `Retry-After` (whole seconds until a slot frees) and Nest's usual error
 * body. When the Redis store is unavailable it responds with 503.
 */
@Injectable()
export class DrainThrottlerGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly clientAddresses: ClientAddressResolver,
  ) {
    super(options, storage, reflector);
  }

  protected override async handleRequest(request: ThrottlerRequest): Promise<boolean> {
    try {
      return await super.handleRequest(request);
    } catch (error) {
      if (!(error instanceof RateLimitStoreUnavailableError)) {
        throw error;
      }
      const response = request.context.switchToHttp().getResponse<Response>();
      response.setHeader('Retry-After', String(REDIS_UNAVAILABLE_RETRY_AFTER_SECONDS));
      throw new ServiceUnavailableException(CronMessages.rateLimitStoreUnavailable);
    }
  }

  protected override getTracker(request: Record<string, unknown>): Promise<string> {
    return Promise.resolve(rateLimitTracker(this.clientAddresses.resolve(request as unknown as Request)));
  }

  /**
   * The default key also names the handler, which would give GET and POST
   * separate windows and double a client's budget.
   */
  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return createHash('sha256').update(`drain-queues:${throttlerName}:${tracker}`).digest('hex');
  }

  protected override throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const message = CronMessages.rateLimited(detail.limit, detail.timeToBlockExpire);
    const body = HttpException.createBody(message, 'Too Many Requests', HttpStatus.TOO_MANY_REQUESTS);
    return Promise.reject(new HttpException(body, HttpStatus.TOO_MANY_REQUESTS));
  }
}

/**
 * Returns the key under which a client's requests are counted: the IPv4
 * address, or the IPv6 /64 network. A client whose address is not an IP
 * address is counted under the proxy that reported it, so that changing the
 * malformed value does not open a new window.
 */
export function rateLimitTracker(client: ClientAddress): string {
  if (client.address === undefined) {
    return `unknown-client-via:${client.reportedBy ?? 'unknown'}`;
  }
  const address = ipaddr.parse(client.address);
  if (address.kind() === 'ipv4') {
    return client.address;
  }
  const network = ipaddr.IPv6.networkAddressFromCIDR(`${client.address}/${IPV6_PREFIX_LENGTH}`);
  return `${network.toString()}/${IPV6_PREFIX_LENGTH}`;
}
