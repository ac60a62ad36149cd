import { canonicalAddress, parseAddress } from './client-address';

describe(canonicalAddress.name, () => {
  describe('when the entry is an IP address', () => {
    it.each([
      ['IPv4', '203.0.113.7', '203.0.113.7'],
      ['IPv4 with surrounding spaces', '  203.0.113.7 ', '203.0.113.7'],
      ['IPv4 with a port', '203.0.113.7:41234', '203.0.113.7'],
      ['IPv4 with port 0', '203.0.113.7:0', '203.0.113.7'],
      ['IPv6 compressed', '2001:db8::1', '2001:db8::1'],
      ['IPv6 in full, upper case', '2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['IPv6 with a non-canonical compression', '2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['IPv6 in brackets', '[2001:db8::1]', '2001:db8::1'],
      ['IPv6 in brackets with a port', '[2001:db8::1]:443', '2001:db8::1'],
      ['IPv6 with a zone index', 'fe80::1%eth0', 'fe80::1'],
      ['IPv6 in brackets with a zone index and a port', '[fe80::1%25eth0]:80', 'fe80::1'],
      ['IPv6 loopback', '::1', '::1'],
      ['IPv4-mapped IPv6', '::ffff:203.0.113.7', '203.0.113.7'],
      ['IPv4-mapped IPv6 in hex', '::ffff:cb00:7107', '203.0.113.7'],
      ['IPv4-mapped IPv6 in brackets with a port', '[::ffff:127.0.0.1]:5000', '127.0.0.1'],
    ])('should canonicalise %s', (_case, raw, expected) => {
      expect(canonicalAddress(raw)).toBe(expected);
    });
  });

  describe('when the entry is not an IP address', () => {
    it.each([
      ['undefined', undefined],
      ['an empty string', ''],
      ['a word', 'unknown'],
      ['an RFC 7239 obfuscated identifier', '_hidden'],
      ['a host name', 'proxy.example.com'],
      ['an IPv4 address with an octet over 255', '203.0.113.256'],
      ['a three-part IPv4 address', '203.0.113'],
      ['a shortened IPv4 address', '127.1'],
      ['IPv4 with leading zeros', '010.0.0.1'],
      ['IPv4 in hex', '0x7f.0.0.1'],
      ['IPv4 as one number', '2130706433'],
      ['IPv4 with a port over 65535', '203.0.113.7:65536'],
      ['IPv4 with an empty port', '203.0.113.7:'],
      ['IPv4 in brackets', '[203.0.113.7]:80'],
      ['IPv6 with a port and no brackets that is not an address', '2001:db8::1::443'],
      ['IPv6 in brackets with a port over 65535', '[2001:db8::1]:70000'],
      ['IPv6 with an unclosed bracket', '[2001:db8::1'],
      ['a quoted address', '"203.0.113.7"'],
      ['an address with a CIDR suffix', '203.0.113.0/24'],
      ['two addresses', '203.0.113.7 198.51.100.1'],
    ])('should return undefined for %s', (_case, raw) => {
      expect(canonicalAddress(raw)).toBeUndefined();
    });
  });
});

describe(parseAddress.name, () => {
  it('should return an IPv4 address for IPv4-mapped IPv6', () => {
    expect(parseAddress('::ffff:10.0.0.1')?.kind()).toBe('ipv4');
  });

  it('should keep native IPv6 as IPv6', () => {
    expect(parseAddress('2001:db8::1')?.kind()).toBe('ipv6');
  });
});
