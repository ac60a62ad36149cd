import { ForbiddenException, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import ipaddr from 'ipaddr.js';

import { AppConfig } from '../../config/app-config';
import { CronMessages } from '../cron.messages';
import { canonicalAddress, parseAddress } from './client-address';

type AddressRange = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * Admits only clients whose address is in `CRON_ALLOWED_IPS`; with no entry
 * it admits everyone. The client address is Express's `req.ip`, which the
 * `TRUST_PROXY` setting derives from the socket peer and `X-Forwarded-For`.
 */
@Injectable()
export class IpAllowlistGuard implements CanActivate {
  private readonly ranges: readonly AddressRange[];

  constructor(config: AppConfig) {
    this.ranges = config.drain.allowedIps.map(toRange);
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.ranges.length === 0) {
      return true;
    }
    const request = context.switchToHttp().getRequest<Request>();
    const address = parseAddress(request.ip);
    if (address === undefined) {
      throw new ForbiddenException(CronMessages.unknownAddress);
    }
    const allowed = this.ranges.some(
      ([network, prefixLength]) => network.kind() === address.kind() && address.match(network, prefixLength),
    );
    if (!allowed) {
      throw new ForbiddenException(CronMessages.addressNotAllowed(canonicalAddress(request.ip) ?? 'unknown'));
    }
    return true;
  }
}

function toRange(entry: string): AddressRange {
  if (entry.includes('/')) {
    return ipaddr.parseCIDR(entry);
  }
  const address = ipaddr.parse(entry);
  return [address, address.kind() === 'ipv4' ? 32 : 128];
}
