import { parseAddressList, parseTrustProxy } from './env-parsers';
import { ConfigurationError, loadAppConfig } from './load-app-config';

const CRON_MODE = { WORKER_INPROCESS: '0' };

function problemsOf(env: Record<string, string | undefined>): readonly string[] {
  try {
    loadAppConfig({ ...CRON_MODE, ...env });
  } catch (error) {
    if (error instanceof ConfigurationError) {
      return error.problems;
    }
    throw error;
  }
  return [];
}

describe(loadAppConfig.name, () => {
  describe('when CRON_ALLOWED_IPS is set', () => {
    it('should canonicalise addresses and ranges', () => {
      const config = loadAppConfig({
        ...CRON_MODE,
        CRON_ALLOWED_IPS: ' 203.0.113.7 , ::ffff:198.51.100.1, 2001:DB8::/32,,::ffff:10.0.0.0/104, 192.0.2.1/32',
      });

      expect(config.drain.allowedIps).toEqual([
        '203.0.113.7',
        '198.51.100.1',
        '2001:db8::/32',
        '10.0.0.0/8',
        '192.0.2.1/32',
      ]);
    });

    it('should treat an empty value as no address check', () => {
      expect(loadAppConfig({ ...CRON_MODE, CRON_ALLOWED_IPS: ' ' }).drain.allowedIps).toEqual([]);
    });

    it.each([
      ['a host name', 'scheduler.example.com'],
      ['a shortened IPv4 address', '10.1'],
      ['IPv4 as one number', '167772161'],
      ['IPv4 with leading zeros', '010.0.0.1'],
      ['a prefix over 32', '10.0.0.0/33'],
      ['a prefix over 128', '2001:db8::/129'],
      ['a netmask instead of a prefix', '10.0.0.0/255.0.0.0'],
      ['an empty prefix', '10.0.0.0/'],
      ['an address with a port', '203.0.113.7:443'],
      ['an address with a zone index', 'fe80::1%eth0'],
      ['a range with spaces inside', '10.0.0.0 /8'],
    ])('should stop with a message naming %s', (_case, entry) => {
      const problems = problemsOf({ CRON_ALLOWED_IPS: `203.0.113.7, ${entry}` });

      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^CRON_ALLOWED_IPS must be a comma-separated list of IPv4 or IPv6 addresses/);
      expect(problems[0]).toContain(`(invalid entry: "${entry}")`);
    });
  });

  describe('when TRUST_PROXY is set', () => {
    it.each([
      ['unset', undefined, ['loopback', 'linklocal', 'uniquelocal']],
      ['true', 'true', true],
      ['FALSE', 'FALSE', false],
      ['a hop count', '2', 2],
      ['zero hops', '0', 0],
      [
        'a list of names, addresses and ranges',
        'loopback, 10.0.0.0/8, 2001:db8::1',
        ['loopback', '10.0.0.0/8', '2001:db8::1'],
      ],
    ])('should accept %s', (_case, value, expected) => {
      expect(loadAppConfig({ ...CRON_MODE, TRUST_PROXY: value }).http.trustProxy).toEqual(expected);
    });

    it.each([
      ['a hop count over 100', '101'],
      ['a negative hop count', '-1'],
      ['an unknown name', 'cloudflare'],
      ['a shortened address', '10.1'],
      ['a word next to a name', 'loopback, yes'],
      ['only commas', ', ,'],
      ['an invalid prefix', '10.0.0.0/40'],
    ])('should stop with a message for %s', (_case, value) => {
      const problems = problemsOf({ TRUST_PROXY: value });

      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^TRUST_PROXY must be true, false, a hop count/);
    });
  });

  describe('when the drain token is rotated', () => {
    it('should accept DRAIN_QUEUES_TOKEN_PREVIOUS next to DRAIN_QUEUES_TOKEN', () => {
      const config = loadAppConfig({ ...CRON_MODE, DRAIN_QUEUES_TOKEN: 'new', DRAIN_QUEUES_TOKEN_PREVIOUS: ' old\n' });

      expect(config.drain).toMatchObject({ token: 'new', tokenVariable: 'DRAIN_QUEUES_TOKEN', previousToken: 'old' });
    });

    it.each([
      ['without any token', {}],
      ['with CRON_SECRET only', { CRON_SECRET: 'shared' }],
      ['with a blank DRAIN_QUEUES_TOKEN', { DRAIN_QUEUES_TOKEN: ' ', CRON_SECRET: 'shared' }],
    ])('should stop when DRAIN_QUEUES_TOKEN_PREVIOUS is set %s', (_case, env) => {
      const problems = problemsOf({ ...env, DRAIN_QUEUES_TOKEN_PREVIOUS: 'old-secret-value' });

      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain('DRAIN_QUEUES_TOKEN_PREVIOUS is accepted only while DRAIN_QUEUES_TOKEN is set');
      expect(problems[0]).not.toContain('old-secret-value');
    });

    it('should ignore a blank DRAIN_QUEUES_TOKEN_PREVIOUS', () => {
      const config = loadAppConfig({ ...CRON_MODE, DRAIN_QUEUES_TOKEN: 'new', DRAIN_QUEUES_TOKEN_PREVIOUS: ' ' });

      expect(config.drain.previousToken).toBeUndefined();
    });
  });

  describe('when a token contains control characters', () => {
    it.each([
      ['a line break inside DRAIN_QUEUES_TOKEN', { DRAIN_QUEUES_TOKEN: 'abc\ndef' }, 'DRAIN_QUEUES_TOKEN'],
      ['a tab inside CRON_SECRET', { CRON_SECRET: 'abc\tdef' }, 'CRON_SECRET'],
      [
        'a DEL inside DRAIN_QUEUES_TOKEN_PREVIOUS',
        { DRAIN_QUEUES_TOKEN: 'new', DRAIN_QUEUES_TOKEN_PREVIOUS: 'abc\u007fdef' },
        'DRAIN_QUEUES_TOKEN_PREVIOUS',
      ],
    ])('should stop for %s without printing it', (_case, env, variable) => {
      const problems = problemsOf(env);

      expect(problems).toEqual([
        `${variable} must not contain control characters such as line breaks or tabs, because an HTTP header cannot carry them.`,
      ]);
    });

    it('should not check a token variable that is not used', () => {
      expect(problemsOf({ DRAIN_QUEUES_TOKEN: 'good', CRON_SECRET: 'abc\ndef' })).toEqual([]);
    });
  });

  describe('when DRAIN_RATE_LIMIT_STORE is set', () => {
    it('should default to memory', () => {
      expect(loadAppConfig(CRON_MODE).drain.rateLimitStore).toBe('memory');
    });

    it('should accept redis with REDIS_URL', () => {
      const config = loadAppConfig({ ...CRON_MODE, DRAIN_RATE_LIMIT_STORE: 'redis', REDIS_URL: 'redis://127.0.0.1:1' });

      expect(config.drain.rateLimitStore).toBe('redis');
    });

    it('should stop for redis without REDIS_URL', () => {
      expect(problemsOf({ DRAIN_RATE_LIMIT_STORE: 'redis' })).toEqual([
        'DRAIN_RATE_LIMIT_STORE=redis requires REDIS_URL. Set REDIS_URL, or set DRAIN_RATE_LIMIT_STORE=memory to keep the window in the process.',
      ]);
    });

    it('should stop for an unknown store', () => {
      expect(problemsOf({ DRAIN_RATE_LIMIT_STORE: 'memcached' })).toEqual([
        'DRAIN_RATE_LIMIT_STORE must be memory or redis.',
      ]);
    });
  });

  describe('when DRAIN_QUEUES_RATE_LIMIT is set', () => {
    it.each(['0', '-1', '1.5', '1e3', 'ten', '10001'])('should stop for %s', (value) => {
      const problems = problemsOf({ DRAIN_QUEUES_RATE_LIMIT: value });

      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^DRAIN_QUEUES_RATE_LIMIT must be a whole number from 1 to 10000/);
    });
  });
});

describe(parseAddressList.name, () => {
  it('should keep a host range written with its prefix', () => {
    expect(parseAddressList('2001:db8::1/128')).toEqual(['2001:db8::1/128']);
  });
});

describe(parseTrustProxy.name, () => {
  it('should lower-case names', () => {
    expect(parseTrustProxy('LoopBack')).toEqual(['loopback']);
  });
});
