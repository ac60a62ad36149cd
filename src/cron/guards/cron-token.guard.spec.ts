import { UnauthorizedException, type ExecutionContext } from '@nestjs/common';

import { loadAppConfig } from '../../config/load-app-config';
import { CronTokenGuard } from './cron-token.guard';

const TOKEN = 'primary-token-0123456789abcdef';
const PREVIOUS = 'previous-token-fedcba9876543210';

type Header = [name: string, value: string];

function createGuard(env: Record<string, string | undefined>): CronTokenGuard {
  return new CronTokenGuard(loadAppConfig({ WORKER_INPROCESS: '0', ...env }));
}

function contextWith(headers: readonly Header[]): ExecutionContext {
  const request = { rawHeaders: headers.flat() };
  const response = { setHeader: jest.fn() };
  return {
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => response }),
  } as unknown as ExecutionContext;
}

describe(CronTokenGuard.name, () => {
  describe('when DRAIN_QUEUES_TOKEN is set', () => {
    const sut = createGuard({ DRAIN_QUEUES_TOKEN: TOKEN });

    it.each<[string, Header[]]>([
      ['X-Cron-Secret', [['X-Cron-Secret', TOKEN]]],
      ['X-Cron-Token', [['X-Cron-Token', TOKEN]]],
      ['Authorization: Bearer', [['Authorization', `Bearer ${TOKEN}`]]],
      ['a lower-case scheme', [['authorization', `bearer ${TOKEN}`]]],
      ['an upper-case scheme', [['AUTHORIZATION', `BEARER ${TOKEN}`]]],
      ['several spaces after the scheme', [['Authorization', `Bearer    ${TOKEN}`]]],
      ['upper-case header names', [['X-CRON-SECRET', TOKEN]]],
      [
        'all three headers with the token',
        [
          ['X-Cron-Secret', TOKEN],
          ['X-Cron-Token', TOKEN],
          ['Authorization', `Bearer ${TOKEN}`],
        ],
      ],
      [
        'a header sent twice with the token',
        [
          ['X-Cron-Secret', TOKEN],
          ['X-Cron-Secret', TOKEN],
        ],
      ],
      [
        'the token next to unrelated headers',
        [
          ['Accept', '*/*'],
          ['X-Cron-Token', TOKEN],
          ['Cookie', 'a=b'],
        ],
      ],
    ])('should admit the token in %s', (_case, headers) => {
      expect(sut.canActivate(contextWith(headers))).toBe(true);
    });

    it.each<[string, Header[]]>([
      ['no credential header', [['Accept', '*/*']]],
      ['no header at all', []],
      ['a wrong token', [['X-Cron-Secret', 'wrong']]],
      ['an empty X-Cron-Secret', [['X-Cron-Secret', '']]],
      [
        'an empty X-Cron-Token next to a right Bearer',
        [
          ['X-Cron-Token', ''],
          ['Authorization', `Bearer ${TOKEN}`],
        ],
      ],
      ['an empty Bearer', [['Authorization', 'Bearer']]],
      ['a Bearer of spaces', [['Authorization', 'Bearer    ']]],
      ['the scheme without a space', [['Authorization', `Bearer${TOKEN}`]]],
      ['a tab after the scheme', [['Authorization', `Bearer\t${TOKEN}`]]],
      ['another scheme', [['Authorization', `Basic ${TOKEN}`]]],
      ['the token without a scheme', [['Authorization', TOKEN]]],
      [
        'a right X-Cron-Secret and a wrong Bearer',
        [
          ['X-Cron-Secret', TOKEN],
          ['Authorization', 'Bearer wrong'],
        ],
      ],
      [
        'a wrong X-Cron-Secret and a right X-Cron-Token',
        [
          ['X-Cron-Secret', 'wrong'],
          ['X-Cron-Token', TOKEN],
        ],
      ],
      [
        'a repeated Authorization whose second line is wrong',
        [
          ['Authorization', `Bearer ${TOKEN}`],
          ['Authorization', 'Bearer wrong'],
        ],
      ],
      [
        'a repeated X-Cron-Secret whose second line is wrong',
        [
          ['X-Cron-Secret', TOKEN],
          ['X-Cron-Secret', 'wrong'],
        ],
      ],
      ['two tokens joined in one line', [['X-Cron-Secret', `${TOKEN}, ${TOKEN}`]]],
      ['a 10 KB value', [['X-Cron-Secret', 'x'.repeat(10_240)]]],
      ['the token in another case', [['X-Cron-Secret', TOKEN.toUpperCase()]]],
      ['a previous token that is not configured', [['X-Cron-Secret', PREVIOUS]]],
    ])('should reject %s with 401', (_case, headers) => {
      const check = () => sut.canActivate(contextWith(headers));

      expect(check).toThrow(UnauthorizedException);
      expect(check).toThrow('Send the token in the X-Cron-Secret or X-Cron-Token header');
    });
  });

  describe('when the token is rotated', () => {
    const sut = createGuard({ DRAIN_QUEUES_TOKEN: TOKEN, DRAIN_QUEUES_TOKEN_PREVIOUS: PREVIOUS });

    it.each<[string, Header[]]>([
      ['the new token', [['X-Cron-Secret', TOKEN]]],
      ['the previous token', [['Authorization', `Bearer ${PREVIOUS}`]]],
      [
        'the new and the previous token in two headers',
        [
          ['X-Cron-Secret', TOKEN],
          ['X-Cron-Token', PREVIOUS],
        ],
      ],
    ])('should admit %s', (_case, headers) => {
      expect(sut.canActivate(contextWith(headers))).toBe(true);
    });

    it('should reject a wrong token next to the previous one', () => {
      const check = () =>
        sut.canActivate(
          contextWith([
            ['X-Cron-Secret', PREVIOUS],
            ['X-Cron-Token', 'wrong'],
          ]),
        );

      expect(check).toThrow(UnauthorizedException);
    });
  });

  describe('when the token variables are set in priority order', () => {
    it.each<[string, Record<string, string>, string, string[]]>([
      [
        'DRAIN_QUEUES_TOKEN over CRON_SECRET and CRON_TOKEN',
        { DRAIN_QUEUES_TOKEN: 'drain', CRON_SECRET: 'secret', CRON_TOKEN: 'token' },
        'drain',
        ['secret', 'token'],
      ],
      ['CRON_SECRET over CRON_TOKEN', { CRON_SECRET: 'secret', CRON_TOKEN: 'token' }, 'secret', ['token']],
      ['CRON_TOKEN alone', { CRON_TOKEN: 'token' }, 'token', []],
      [
        'CRON_SECRET when DRAIN_QUEUES_TOKEN is empty',
        { DRAIN_QUEUES_TOKEN: '', CRON_SECRET: 'secret', CRON_TOKEN: 'token' },
        'secret',
        ['', 'token'],
      ],
      [
        'CRON_SECRET when DRAIN_QUEUES_TOKEN is blank',
        { DRAIN_QUEUES_TOKEN: '  \n', CRON_SECRET: 'secret' },
        'secret',
        [''],
      ],
      ['a token without the newline of a mounted file', { DRAIN_QUEUES_TOKEN: 'drain\n' }, 'drain', ['drai']],
    ])('should accept only %s', (_case, env, accepted, rejected) => {
      const sut = createGuard(env);

      expect(sut.canActivate(contextWith([['X-Cron-Secret', accepted]]))).toBe(true);
      for (const value of rejected) {
        expect(() => sut.canActivate(contextWith([['X-Cron-Secret', value]]))).toThrow(UnauthorizedException);
      }
    });
  });

  describe('when no token is configured', () => {
    const sut = createGuard({});

    it.each<[string, Header[]]>([
      ['Bearer undefined', [['Authorization', 'Bearer undefined']]],
      ['an empty Bearer', [['Authorization', 'Bearer ']]],
      ['an empty X-Cron-Secret', [['X-Cron-Secret', '']]],
      ['the word null', [['X-Cron-Token', 'null']]],
      ['no header', []],
    ])('should reject %s with 401', (_case, headers) => {
      expect(() => sut.canActivate(contextWith(headers))).toThrow(UnauthorizedException);
    });
  });

  describe('when the token is not ASCII', () => {
    const token = 'clé-secrète-密钥';
    const sut = createGuard({ DRAIN_QUEUES_TOKEN: token });

    it('should admit the UTF-8 bytes of the token', () => {
      const received = Buffer.from(token, 'utf8').toString('latin1');

      expect(sut.canActivate(contextWith([['X-Cron-Secret', received]]))).toBe(true);
    });
  });
});
