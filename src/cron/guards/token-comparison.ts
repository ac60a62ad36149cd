import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares a credential with the expected token in constant time. Both are
 * hashed first, so values of any length or encoding compare without throwing
 * and without revealing the expected token's length.
 *
 * @param received The header value as Node exposes it: each byte of the
 * header is one Latin-1 character, so a UTF-8 token arrives as its bytes.
 */
export function isExpectedToken(received: string, expected: string): boolean {
  const receivedDigest = createHash('sha256').update(Buffer.from(received, 'latin1')).digest();
  const expectedDigest = createHash('sha256').update(Buffer.from(expected, 'utf8')).digest();
  return timingSafeEqual(receivedDigest, expectedDigest);
}
