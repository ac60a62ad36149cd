import { isIP } from 'node:net';

import ipaddr from 'ipaddr.js';

/** `[2001:db8::1]` or `[2001:db8::1]:443`. */
const BRACKETED = /^\[([^\]]+)\](?::(\d{1,5}))?$/;
/** `203.0.113.7:41234`. An IPv6 address without brackets cannot carry a port. */
const IPV4_WITH_PORT = /^([\d.]+):(\d{1,5})$/;
const MAX_PORT = 65_535;

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * Parses one client address as a socket or an `X-Forwarded-For` entry
 * carries it, or returns `undefined` when it is not an IP address.
 *
 * Accepted: IPv4 in dotted decimal, IPv6 in any standard notation, either of
 * them with a port (`203.0.113.7:41234`, `[2001:db8::1]:443`), and IPv6 with a
 * zone index (`fe80::1%eth0`). The port and the zone index are dropped, and an
 * IPv4-mapped IPv6 address becomes the IPv4 address. The other notations that
 * ipaddr.js reads (`127.1`, `0x7f.0.0.1`, `2130706433`) are rejected, because
 * no proxy writes them and they would let one client appear under several
 * names.
 */
export function parseAddress(raw: string | undefined): IpAddress | undefined {
  if (raw === undefined) {
    return undefined;
  }
  const text = stripPort(raw.trim());
  if (text === undefined || isIP(text) === 0) {
    return undefined;
  }
  const withoutZone = text.replace(/%.*$/, '');
  try {
    const address = ipaddr.parse(withoutZone);
    if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
      return (address as ipaddr.IPv6).toIPv4Address();
    }
    return address;
  } catch {
    return undefined;
  }
}

/**
 * Returns the canonical form of a client address, or `undefined` when it is
 * not an IP address: dotted decimal for IPv4 (IPv4-mapped IPv6 included), and
 * the RFC 5952 form for IPv6 (lower case, longest run of zeros compressed).
 */
export function canonicalAddress(raw: string | undefined): string | undefined {
  return parseAddress(raw)?.toString();
}

/** Returns the address without its port, or `undefined` when the port is invalid. */
function stripPort(text: string): string | undefined {
  const bracketed = BRACKETED.exec(text);
  if (bracketed !== null) {
    return isValidPort(bracketed[2]) && isIP(bracketed[1]!.replace(/%.*$/, '')) === 6 ? bracketed[1] : undefined;
  }
  const ipv4 = IPV4_WITH_PORT.exec(text);
  if (ipv4 !== null) {
    return isValidPort(ipv4[2]) ? ipv4[1] : undefined;
  }
  return text;
}

function isValidPort(port: string | undefined): boolean {
  return port === undefined || Number(port) <= MAX_PORT;
}
