import type { IncomingMessage } from 'node:http';

import { ForbiddenException, type ExecutionContext } from '@nestjs/common';

import { loadAppConfig } from '../../config/load-app-config';
import { ClientAddressResolver } from './client-address.resolver';
import { IpAllowlistGuard } from './ip-allowlist.guard';

function createGuard(allowedIps: string | undefined, trustProxy?: string): IpAllowlistGuard {
  const config = loadAppConfig({ WORKER_INPROCESS: '0', CRON_ALLOWED_IPS: allowedIps, TRUST_PROXY: trustProxy });
  return new IpAllowlistGuard(config, new ClientAddressResolver(config));
}

function contextFor(peer: string | undefined, forwardedFor?: string): ExecutionContext {
  const headers = forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
  const request = { headers, socket: { remoteAddress: peer } } as unknown as IncomingMessage;
  return { switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;
}

describe(IpAllowlistGuard.name, () => {
  describe('when CRON_ALLOWED_IPS is unset', () => {
    const sut = createGuard(undefined);

    it('should admit any client', () => {
      expect(sut.canActivate(contextFor('203.0.113.7'))).toBe(true);
    });

    it('should admit a client whose address is malformed', () => {
      expect(sut.canActivate(contextFor('127.0.0.1', 'garbage'))).toBe(true);
    });
  });

  describe('when CRON_ALLOWED_IPS lists addresses and ranges', () => {
    const sut = createGuard('203.0.113.7, 198.51.100.0/24, 2001:db8::/48, ::ffff:192.0.2.0/120');

    it.each([
      ['a listed IPv4 address', '203.0.113.7'],
      ['a listed IPv4 address as a mapped peer', '::ffff:203.0.113.7'],
      ['an address in an IPv4 range', '198.51.100.200'],
      ['an address in an IPv6 range', '2001:db8:0:ffff::1'],
      ['an address in a range written as mapped IPv6', '192.0.2.9'],
    ])('should admit %s', (_case, peer) => {
      expect(sut.canActivate(contextFor(peer))).toBe(true);
    });

    it('should admit a forwarded client behind a trusted proxy', () => {
      expect(sut.canActivate(contextFor('127.0.0.1', '203.0.113.7:41234'))).toBe(true);
    });

    it.each([
      ['an unlisted IPv4 address', '203.0.113.8', '203.0.113.8'],
      ['an unlisted IPv6 address', '2001:db9::1', '2001:db9::1'],
      ['an IPv6 address whose low bits match a listed IPv4 address', '::cb00:7107', '::cb00:7107'],
    ])('should reject %s with 403 naming it', (_case, peer, shown) => {
      const check = () => sut.canActivate(contextFor(peer));

      expect(check).toThrow(ForbiddenException);
      expect(check).toThrow(`Client address ${shown} is not allowed`);
    });

    it('should reject a direct caller that forges X-Forwarded-For', () => {
      const check = () => sut.canActivate(contextFor('198.18.0.1', '203.0.113.7'));

      expect(check).toThrow(ForbiddenException);
      expect(check).toThrow('Client address 198.18.0.1 is not allowed');
    });

    it.each([
      ['a malformed client entry', '127.0.0.1', 'unknown'],
      ['a client entry written as one number', '127.0.0.1', '3405803783'],
      ['a closed socket', undefined, undefined],
    ])('should reject %s with 403', (_case, peer, forwardedFor) => {
      const check = () => sut.canActivate(contextFor(peer, forwardedFor));

      expect(check).toThrow(ForbiddenException);
      expect(check).toThrow('is not a valid IP address');
    });
  });

  describe('when TRUST_PROXY is true', () => {
    const sut = createGuard('203.0.113.7', 'true');

    it('should admit a caller that names a listed address in X-Forwarded-For', () => {
      expect(sut.canActivate(contextFor('198.18.0.1', '203.0.113.7'))).toBe(true);
    });
  });
});
