import { createTestApp, type TestApp } from './support/test-app';
import { listenOnLoopback, sendRaw, type ListeningApp, type RawHeader } from './support/raw-request';

// An invalid query: a request whose token is accepted gets 400 from the query
// check instead of 401, so these tests need no Redis.
const PATH_PAST_TOKEN = '/api/v1/cron/drain-queues?maxDurationMs=abc';
const TOKEN = 'e2e-token-5b8f2c7d9e1a4f6b8c0d2e4f6a8b0c1d';
const PREVIOUS = 'e2e-previous-3c5e7a9b1d3f5a7c9e1b3d5f7a9c1e3b';

/** What Node exposes for a client that sends the UTF-8 bytes of `text`. */
const utf8Bytes = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

describe('drain endpoint token', () => {
  let testApp: TestApp;
  let target: ListeningApp;

  async function start(env: Record<string, string | undefined>): Promise<void> {
    testApp = await createTestApp({ DRAIN_QUEUES_RATE_LIMIT: '10000', ...env });
    target = await listenOnLoopback(testApp.app);
  }

  afterEach(async () => {
    await testApp.close();
  });

  const send = (headers: readonly RawHeader[], method = 'POST') => sendRaw(target, method, PATH_PAST_TOKEN, headers);

  describe('when DRAIN_QUEUES_TOKEN is set', () => {
    beforeEach(async () => {
      await start({ DRAIN_QUEUES_TOKEN: TOKEN });
    });

    it.each<[string, RawHeader[]]>([
      ['X-Cron-Secret', [['X-Cron-Secret', TOKEN]]],
      ['X-Cron-Token', [['X-Cron-Token', TOKEN]]],
      ['Authorization: Bearer', [['Authorization', `Bearer ${TOKEN}`]]],
      ['a lower-case scheme', [['Authorization', `bearer ${TOKEN}`]]],
      ['a mixed-case scheme after several spaces', [['Authorization', `bEaReR     ${TOKEN}`]]],
      [
        'all three headers',
        [
          ['X-Cron-Secret', TOKEN],
          ['X-Cron-Token', TOKEN],
          ['Authorization', `Bearer ${TOKEN}`],
        ],
      ],
      [
        'a repeated Authorization line',
        [
          ['Authorization', `Bearer ${TOKEN}`],
          ['Authorization', `Bearer ${TOKEN}`],
        ],
      ],
    ])('should accept the token in %s', async (_case, headers) => {
      const response = await send(headers);

      expect(response.status).toBe(400);
    });

    it.each<[string, RawHeader[]]>([
      ['no credential header', []],
      ['a wrong token', [['X-Cron-Secret', 'wrong']]],
      ['an empty X-Cron-Secret', [['X-Cron-Secret', '']]],
      [
        'an empty X-Cron-Token next to a right one',
        [
          ['X-Cron-Token', ''],
          ['X-Cron-Secret', TOKEN],
        ],
      ],
      ['an empty Bearer', [['Authorization', 'Bearer ']]],
      ['Bearer undefined', [['Authorization', 'Bearer undefined']]],
      ['another scheme', [['Authorization', `Basic ${TOKEN}`]]],
      [
        'a right header and a wrong one',
        [
          ['X-Cron-Secret', TOKEN],
          ['Authorization', 'Bearer wrong'],
        ],
      ],
      [
        'a second Authorization line that is wrong',
        [
          ['Authorization', `Bearer ${TOKEN}`],
          ['Authorization', 'Bearer wrong'],
        ],
      ],
      [
        'a second X-Cron-Secret line that is wrong',
        [
          ['X-Cron-Secret', TOKEN],
          ['X-Cron-Secret', 'wrong'],
        ],
      ],
      [
        'a first X-Cron-Token line that is wrong',
        [
          ['X-Cron-Token', 'wrong'],
          ['X-Cron-Token', TOKEN],
        ],
      ],
      ['a 10 KB value', [['X-Cron-Secret', 'x'.repeat(10_240)]]],
      ['non-ASCII bytes', [['X-Cron-Secret', utf8Bytes('jeton-clé-密钥')]]],
      ['a Latin-1 byte that is not UTF-8', [['X-Cron-Secret', `${TOKEN}\u00e9`]]],
    ])('should reject %s with 401', async (_case, headers) => {
      const response = await send(headers);

      expect(response.status).toBe(401);
      expect(response.body).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message:
          'Missing or invalid drain token. Send the token in the X-Cron-Secret or X-Cron-Token header, or as Authorization: Bearer <token>.',
      });
      expect(response.headers['www-authenticate']).toBe('Bearer realm="drain-queues"');
      expect(JSON.stringify(response.body)).not.toContain(TOKEN);
    });

    it('should reject a wrong token on GET as on POST', async () => {
      const response = await send([['X-Cron-Secret', 'wrong']], 'GET');

      expect(response.status).toBe(401);
    });
  });

  describe('when the token is not ASCII', () => {
    const token = 'jeton-clé-密钥-🔑-0123456789abcdef';

    beforeEach(async () => {
      await start({ DRAIN_QUEUES_TOKEN: token });
    });

    it('should accept the UTF-8 bytes of the token', async () => {
      const response = await send([['X-Cron-Secret', utf8Bytes(token)]]);

      expect(response.status).toBe(400);
    });

    it('should reject the token with a missing byte', async () => {
      const response = await send([['X-Cron-Secret', utf8Bytes(token).slice(0, -1)]]);

      expect(response.status).toBe(401);
    });
  });

  describe('when the token variables are set in priority order', () => {
    it.each<[string, Record<string, string>, string, string[]]>([
      [
        'DRAIN_QUEUES_TOKEN',
        { DRAIN_QUEUES_TOKEN: 'drain-token', CRON_SECRET: 'cron-secret', CRON_TOKEN: 'cron-token' },
        'drain-token',
        ['cron-secret', 'cron-token'],
      ],
      [
        'CRON_SECRET when DRAIN_QUEUES_TOKEN is empty',
        { DRAIN_QUEUES_TOKEN: '', CRON_SECRET: 'cron-secret', CRON_TOKEN: 'cron-token' },
        'cron-secret',
        ['cron-token'],
      ],
      ['CRON_TOKEN alone', { DRAIN_QUEUES_TOKEN: ' ', CRON_TOKEN: 'cron-token' }, 'cron-token', []],
    ])('should accept only %s', async (_case, env, accepted, rejected) => {
      await start(env);

      expect((await send([['X-Cron-Token', accepted]])).status).toBe(400);
      for (const value of rejected) {
        expect((await send([['X-Cron-Token', value]])).status).toBe(401);
      }
    });
  });

  describe('when no token is configured', () => {
    beforeEach(async () => {
      await start({ DRAIN_QUEUES_TOKEN: undefined });
    });

    it.each<[string, RawHeader[]]>([
      ['Bearer undefined', [['Authorization', 'Bearer undefined']]],
      ['an empty Bearer', [['Authorization', 'Bearer']]],
      ['an empty X-Cron-Secret', [['X-Cron-Secret', '']]],
      ['no header', []],
    ])('should reject %s with 401', async (_case, headers) => {
      expect((await send(headers)).status).toBe(401);
    });
  });

  describe('when the token is rotated', () => {
    beforeEach(async () => {
      await start({ DRAIN_QUEUES_TOKEN: TOKEN, DRAIN_QUEUES_TOKEN_PREVIOUS: PREVIOUS });
    });

    it.each<[string, RawHeader[]]>([
      ['the new token', [['X-Cron-Secret', TOKEN]]],
      ['the previous token', [['Authorization', `Bearer ${PREVIOUS}`]]],
      [
        'each token in its own header',
        [
          ['X-Cron-Secret', PREVIOUS],
          ['X-Cron-Token', TOKEN],
        ],
      ],
    ])('should accept %s', async (_case, headers) => {
      expect((await send(headers)).status).toBe(400);
    });

    it('should reject the previous token next to a wrong one', async () => {
      const response = await send([
        ['X-Cron-Secret', PREVIOUS],
        ['Authorization', 'Bearer wrong'],
      ]);

      expect(response.status).toBe(401);
    });
  });
});
