import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares credentials with the accepted tokens in constant time. Every value
 * is hashed first, so values of any length or encoding compare without
 * throwing and without revealing the length of a token.
 */
export class TokenComparison {
  private readonly acceptedDigests: readonly Buffer[];

  /** @param acceptedTokens The tokens as configured, compared as their UTF-8 bytes. */
  constructor(acceptedTokens: readonly string[]) {
    this.acceptedDigests = acceptedTokens.map((token) => sha256(Buffer.from(token, 'utf8')));
  }

  /**
   * Returns whether the credential equals one of the accepted tokens. Every
   * token is compared, even after a match, so that the time taken does not
   * reveal which one matched.
   *
   * @param received The header value as Node exposes it: each byte of the
   * header is one Latin-1 character, so a UTF-8 token arrives as its bytes.
   */
  isAccepted(received: string): boolean {
    const receivedDigest = sha256(Buffer.from(received, 'latin1'));
    let accepted = false;
    for (const digest of this.acceptedDigests) {
      accepted = timingSafeEqual(receivedDigest, digest) || accepted;
    }
    return accepted;
  }
}

function sha256(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}
