import { ForbiddenException, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import ipaddr from 'ipaddr.js';

import { AppConfig } from '../../config/app-config';
import { CronMessages } from '../cron.messages';
import { parseAddress, type IpAddress } from './client-address';
import { ClientAddressResolver } from './client-address.resolver';

type AddressRange = [IpAddress, number];

/**
 * Admits only clients whose address is in `CRON_ALLOWED_IPS`; with no entry
 * it admits everyone. The client address comes from `ClientAddressResolver`,
 * so it follows `TRUST_PROXY`. A client whose address cannot be determined is
 * rejected: the allowlist fails closed.
 */
@Injectable()
export class IpAllowlistGuard implements CanActivate {
  private readonly ranges: readonly AddressRange[];

  constructor(
    config: AppConfig,
    private readonly clientAddresses: ClientAddressResolver,
  ) {
    this.ranges = config.drain.allowedIps.map(toRange);
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.ranges.length === 0) {
      return true;
    }
    const client = this.clientAddresses.resolve(context.switchToHttp().getRequest<Request>());
    const address = parseAddress(client.address);
    if (address === undefined) {
      throw new ForbiddenException(CronMessages.unknownAddress);
    }
    if (!this.isAllowed(address)) {
      throw new ForbiddenException(CronMessages.addressNotAllowed(address.toString()));
    }
    return true;
  }

  private isAllowed(address: IpAddress): boolean {
    return this.ranges.some(
      ([network, prefixLength]) => network.kind() === address.kind() && address.match(network, prefixLength),
    );
  }
}

/** Turns a canonical `CRON_ALLOWED_IPS` entry into a range; a single address is a /32 or /128. */
function toRange(entry: string): AddressRange {
  if (entry.includes('/')) {
    return ipaddr.parseCIDR(entry);
  }
  const address = ipaddr.parse(entry);
  return [address, address.kind() === 'ipv4' ? 32 : 128];
}
