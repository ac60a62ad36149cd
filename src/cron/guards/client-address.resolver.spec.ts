import type { IncomingMessage } from 'node:http';

import { loadAppConfig } from '../../config/load-app-config';
import { ClientAddressResolver } from './client-address.resolver';

function createResolver(trustProxy: string | undefined): ClientAddressResolver {
  return new ClientAddressResolver(loadAppConfig({ WORKER_INPROCESS: '0', TRUST_PROXY: trustProxy }));
}

function requestFrom(peer: string | undefined, forwardedFor?: string): IncomingMessage {
  const headers = forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
  return { headers, socket: { remoteAddress: peer } } as unknown as IncomingMessage;
}

type Case = [
  description: string,
  peer: string | undefined,
  forwardedFor: string | undefined,
  client: string | undefined,
];

describe(ClientAddressResolver.name, () => {
  describe('when TRUST_PROXY is the default (loopback, linklocal, uniquelocal)', () => {
    const sut = createResolver(undefined);

    it.each<Case>([
      ['a direct loopback caller', '127.0.0.1', undefined, '127.0.0.1'],
      ['the entry a loopback proxy appended', '127.0.0.1', '203.0.113.7', '203.0.113.7'],
      ['the right-most untrusted entry', '127.0.0.1', '198.51.100.9, 203.0.113.7', '203.0.113.7'],
      ['the entry behind a private proxy', '127.0.0.1', '198.51.100.9, 10.0.0.5', '198.51.100.9'],
      ['a public peer, ignoring its header', '203.0.113.50', '10.0.0.1', '203.0.113.50'],
      ['a mapped peer as IPv4', '::ffff:127.0.0.1', undefined, '127.0.0.1'],
      ['an entry with a port', '::ffff:127.0.0.1', '203.0.113.7:41234', '203.0.113.7'],
      ['the entry behind a proxy that adds its port', '127.0.0.1', '198.51.100.9, 10.0.0.5:51000', '198.51.100.9'],
      ['the entry behind a mapped private proxy', '127.0.0.1', '198.51.100.9, ::ffff:10.0.0.5', '198.51.100.9'],
      ['a bracketed IPv6 entry with a port', '::1', '[2001:db8::1]:443', '2001:db8::1'],
      ['an IPv6 entry in canonical form', '::1', '2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['the left-most entry when every hop is trusted', '127.0.0.1', '192.168.1.4, fe80::1%eth0', '192.168.1.4'],
      ['entries around empty list items', '127.0.0.1', '198.51.100.9,, 10.0.0.5 ,', '198.51.100.9'],
      ['no address when the client entry is malformed', '127.0.0.1', 'unknown', undefined],
      ['no address for a loopback written as one number', '127.0.0.1', '2130706433', undefined],
      ['no address when the socket has closed', undefined, undefined, undefined],
    ])('should return %s', (_case, peer, forwardedFor, client) => {
      expect(sut.resolve(requestFrom(peer, forwardedFor)).address).toBe(client);
    });

    it('should name the proxy that reported a malformed entry', () => {
      expect(sut.resolve(requestFrom('127.0.0.1', '203.0.113.7, garbage, 10.0.0.5'))).toEqual({
        address: undefined,
        reportedBy: '10.0.0.5',
      });
    });

    it('should report no proxy for a direct caller', () => {
      expect(sut.resolve(requestFrom('203.0.113.50')).reportedBy).toBeUndefined();
    });

    it('should resolve a request once', () => {
      const request = requestFrom('127.0.0.1', '203.0.113.7');

      expect(sut.resolve(request)).toBe(sut.resolve(request));
    });
  });

  describe('when TRUST_PROXY is false', () => {
    const sut = createResolver('false');

    it.each<Case>([
      ['the socket peer despite the header', '127.0.0.1', '203.0.113.7', '127.0.0.1'],
      ['a mapped socket peer as IPv4', '::ffff:127.0.0.1', '203.0.113.7', '127.0.0.1'],
      ['an IPv6 socket peer', '2001:db8::7', 'unknown', '2001:db8::7'],
    ])('should return %s', (_case, peer, forwardedFor, client) => {
      expect(sut.resolve(requestFrom(peer, forwardedFor)).address).toBe(client);
    });
  });

  describe('when TRUST_PROXY is a hop count', () => {
    it.each<[string, string, string, string, string | undefined]>([
      ['1', 'the right-most entry', '127.0.0.1', '198.51.100.9, 203.0.113.7', '203.0.113.7'],
      ['1', 'the right-most entry behind a public peer', '203.0.113.50', '198.51.100.9', '198.51.100.9'],
      ['2', 'the second entry from the right', '127.0.0.1', '192.0.2.1, 198.51.100.9, 203.0.113.7', '198.51.100.9'],
      ['2', 'the left-most entry when the list is short', '127.0.0.1', '203.0.113.7', '203.0.113.7'],
      ['0', 'the socket peer', '127.0.0.1', '203.0.113.7', '127.0.0.1'],
      ['1', 'no address for a malformed entry', '127.0.0.1', 'garbage', undefined],
    ])('with %s hop(s) should return %s', (hops, _case, peer, forwardedFor, client) => {
      expect(createResolver(hops).resolve(requestFrom(peer, forwardedFor)).address).toBe(client);
    });
  });

  describe('when TRUST_PROXY is true', () => {
    const sut = createResolver('true');

    it.each<Case>([
      ['the left-most entry, which the caller chooses', '203.0.113.50', '192.0.2.1, 198.51.100.9', '192.0.2.1'],
      ['the socket peer without a header', '203.0.113.50', undefined, '203.0.113.50'],
      ['no address when the left-most entry is malformed', '127.0.0.1', 'garbage, 203.0.113.7', undefined],
    ])('should return %s', (_case, peer, forwardedFor, client) => {
      expect(sut.resolve(requestFrom(peer, forwardedFor)).address).toBe(client);
    });
  });

  describe('when TRUST_PROXY lists a CIDR range', () => {
    const sut = createResolver('10.0.0.0/8');

    it.each<Case>([
      ['the entry that a listed proxy appended', '10.1.2.3', '203.0.113.7', '203.0.113.7'],
      ['a peer outside the range, ignoring its header', '127.0.0.1', '203.0.113.7', '127.0.0.1'],
    ])('should return %s', (_case, peer, forwardedFor, client) => {
      expect(sut.resolve(requestFrom(peer, forwardedFor)).address).toBe(client);
    });
  });
});
