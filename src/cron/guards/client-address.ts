import ipaddr from 'ipaddr.js';

const BRACKETED_WITH_PORT = /^\[([^\]]+)\](?::\d+)?$/;
const IPV4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/;

/**
 * Returns the canonical form of a client address, or `undefined` when it is
 * not an IP address: IPv4-mapped IPv6 becomes IPv4, IPv6 is compressed in
 * lower case (RFC 5952), and a port (`203.0.113.7:41234`, `[2001:db8::1]:443`)
 * is dropped. A zone index (`fe80::1%eth0`) is dropped as well.
 */
export function canonicalAddress(raw: string | undefined): string | undefined {
  const address = parseAddress(raw);
  if (address === undefined) {
    return undefined;
  }
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (address as ipaddr.IPv6).toIPv4Address().toString();
  }
  return address.toString();
}

/** Parses an address in any accepted notation, IPv4-mapped IPv6 as IPv4. */
export function parseAddress(raw: string | undefined): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (raw === undefined) {
    return undefined;
  }
  const text = stripPort(raw.trim()).replace(/%.*$/, '');
  if (!ipaddr.isValid(text)) {
    return undefined;
  }
  const address = ipaddr.parse(text);
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (address as ipaddr.IPv6).toIPv4Address();
  }
  return address;
}

function stripPort(text: string): string {
  const bracketed = BRACKETED_WITH_PORT.exec(text);
  if (bracketed !== null) {
    return bracketed[1]!;
  }
  const ipv4 = IPV4_WITH_PORT.exec(text);
  return ipv4 === null ? text : ipv4[1]!;
}
