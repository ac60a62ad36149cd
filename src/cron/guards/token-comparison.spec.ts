import { TokenComparison } from './token-comparison';

/** The header value Node exposes for a client that sends the UTF-8 bytes of `text`. */
const asReceived = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

describe(TokenComparison.name, () => {
  describe('when one token is accepted', () => {
    const sut = new TokenComparison(['s3cret-token']);

    it('should accept the token', () => {
      expect(sut.isAccepted('s3cret-token')).toBe(true);
    });

    it.each([
      ['an empty value', ''],
      ['a prefix of the token', 's3cret'],
      ['the token with a suffix', 's3cret-token2'],
      ['the token in another case', 'S3CRET-TOKEN'],
      ['a 10 KB value', 'x'.repeat(10_240)],
      ['the word undefined', 'undefined'],
    ])('should reject %s without throwing', (_case, received) => {
      expect(sut.isAccepted(received)).toBe(false);
    });
  });

  describe('when the token is not ASCII', () => {
    const token = 'jeton-clé-密钥-🔑';
    const sut = new TokenComparison([token]);

    it('should accept the UTF-8 bytes of the token', () => {
      expect(sut.isAccepted(asReceived(token))).toBe(true);
    });

    it('should reject the token sent as Latin-1 bytes', () => {
      expect(sut.isAccepted(Buffer.from('jeton-clé', 'latin1').toString('latin1'))).toBe(false);
    });

    it('should reject a value with characters beyond Latin-1 without throwing', () => {
      expect(sut.isAccepted(token)).toBe(false);
    });
  });

  describe('when two tokens are accepted', () => {
    const sut = new TokenComparison(['new-token', 'old-token']);

    it.each(['new-token', 'old-token'])('should accept %s', (received) => {
      expect(sut.isAccepted(received)).toBe(true);
    });

    it('should reject another value', () => {
      expect(sut.isAccepted('other-token')).toBe(false);
    });
  });

  describe('when no token is accepted', () => {
    const sut = new TokenComparison([]);

    it.each(['', 'undefined', 'anything'])('should reject "%s"', (received) => {
      expect(sut.isAccepted(received)).toBe(false);
    });
  });
});
