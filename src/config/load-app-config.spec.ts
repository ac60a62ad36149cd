import { QUEUE_NAMES } from '../queues/queue-names';
import { ConfigurationError, loadAppConfig } from './load-app-config';

const REDIS_URL = 'redis://127.0.0.1:6379';

/** Returns the problems that `loadAppConfig` reports for `env`, or fails the test when it accepts it. */
function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadAppConfig(env);
  } catch (error) {
    if (error instanceof ConfigurationError) {
      return error.problems;
    }
    throw error;
  }
  throw new Error(`loadAppConfig accepted ${JSON.stringify(env)}`);
}

describe(loadAppConfig.name, () => {
  describe('when only REDIS_URL is set', () => {
    const config = loadAppConfig({ REDIS_URL });

    it('runs in-process workers for every queue', () => {
      expect(config.workers.inProcess).toBe(true);
      expect(config.workers.queues).toEqual(QUEUE_NAMES);
    });

    it('applies the documented defaults', () => {
      expect(config.redis.keyPrefix).toBe('bull');
      expect(config.drain.rateLimitPerMinute).toBe(12);
      expect(config.drain.allowedIps).toEqual([]);
      expect(config.drain.defaultQueues).toEqual(QUEUE_NAMES);
      expect(config.http.port).toBe(3000);
      expect(config.http.trustProxy).toEqual(['loopback', 'linklocal', 'uniquelocal']);
      expect(Object.values(config.queues.concurrency)).toEqual([1, 1, 1, 1, 1]);
    });

    it('has no token', () => {
      expect(config.drain.token).toBeUndefined();
      expect(config.drain.tokenVariable).toBeUndefined();
    });
  });

  describe('WORKER_INPROCESS', () => {
    it.each(['1', 'true', 'YES', 'on'])('when %s, enables in-process workers', (value) => {
      expect(loadAppConfig({ REDIS_URL, WORKER_INPROCESS: value }).workers.inProcess).toBe(true);
    });

    it.each(['0', 'false', 'No', 'off'])('when %s, disables in-process workers', (value) => {
      expect(loadAppConfig({ WORKER_INPROCESS: value }).workers.inProcess).toBe(false);
    });

    it('when invalid, names the variable and the accepted words', () => {
      expect(problemsOf({ REDIS_URL, WORKER_INPROCESS: 'maybe' })).toEqual([
        'WORKER_INPROCESS must be one of 1, true, yes, on, 0, false, no, off (got "maybe").',
      ]);
    });

    it('when blank, keeps the default', () => {
      expect(loadAppConfig({ REDIS_URL, WORKER_INPROCESS: '  ' }).workers.inProcess).toBe(true);
    });
  });

  describe('REDIS_URL', () => {
    it('when missing in cron mode, is accepted', () => {
      expect(loadAppConfig({ WORKER_INPROCESS: '0' }).redis.url).toBeUndefined();
    });

    it('when missing with in-process workers, is a start-up error', () => {
      expect(problemsOf({})).toEqual([expect.stringContaining('REDIS_URL is required when WORKER_INPROCESS')]);
    });

    it.each([
      'rediss://user:pw@redis.example.com:6380/2',
      'redis://localhost',
      'redis://:pw@10.0.0.5:6379',
      'redis://:p%25w%40rd@10.0.0.5:6379',
    ])('accepts %s', (url) => {
      expect(loadAppConfig({ REDIS_URL: url }).redis.url).toBe(url);
    });

    it.each([
      ['http://user:s3cret-pass@host:6379', 'the scheme is not redis or rediss'],
      ['redis://user:s3cret-pass@:6379', 'must be a redis:// or rediss:// URL'],
      ['redis://user:s3cret-pass@host:6379/zero', 'the database after the host must be a number'],
      ['not a url s3cret-pass', 'must be a redis:// or rediss:// URL'],
      ['redis://user:s3cret-pass@host:99999', 'the port must be from 1 to 65535'],
      ['redis://user:s3cret-pass%ZZ@host:6379', 'the password contains a % that does not start a percent-encoded byte'],
      ['redis://us%er:s3cret-pass@host:6379', 'the user name contains a % that does not start a percent-encoded byte'],
    ])('rejects %s without printing its password', (url, reason) => {
      const [problem] = problemsOf({ REDIS_URL: url });

      expect(problem).toContain('REDIS_URL');
      expect(problem).toContain(reason);
      expect(problem).not.toContain('s3cret-pass');
    });
  });

  describe('REDIS_CLUSTER', () => {
    const CLUSTER_PREFIX = '{bull}';

    it('when unset, keeps a single node', () => {
      expect(loadAppConfig({ REDIS_URL }).redis.cluster).toBe(false);
    });

    it.each(['1', 'true', 'YES', 'on'])('when %s, enables cluster mode', (value) => {
      const { redis } = loadAppConfig({ REDIS_URL, REDIS_CLUSTER: value, QUEUE_KEY_PREFIX: CLUSTER_PREFIX });

      expect(redis.cluster).toBe(true);
      expect(redis.keyPrefix).toBe(CLUSTER_PREFIX);
    });

    it.each(['0', 'false', 'No', 'off', ' '])('when "%s", keeps a single node', (value) => {
      expect(loadAppConfig({ REDIS_URL, REDIS_CLUSTER: value }).redis.cluster).toBe(false);
    });

    it('when invalid, names the variable and the accepted words', () => {
      expect(problemsOf({ REDIS_URL, REDIS_CLUSTER: 'maybe' })).toEqual([
        'REDIS_CLUSTER must be one of 1, true, yes, on, 0, false, no, off (got "maybe").',
      ]);
    });

    it.each(['{bull}', 'app{jobs}', '{a}b', 'x{y}z{}'])('accepts the prefix %s with a hash tag', (prefix) => {
      expect(loadAppConfig({ REDIS_URL, REDIS_CLUSTER: '1', QUEUE_KEY_PREFIX: prefix }).redis.keyPrefix).toBe(prefix);
    });

    it.each(['bull', '{}bull', 'bull{', 'bull}', '}bull{', '{}{bull}'])(
      'rejects the prefix %s without a hash tag',
      (prefix) => {
        const [problem, ...others] = problemsOf({ REDIS_URL, REDIS_CLUSTER: '1', QUEUE_KEY_PREFIX: prefix });

        expect(others).toEqual([]);
        expect(problem).toMatch(/^QUEUE_KEY_PREFIX must contain a hash tag/);
        expect(problem).toContain('{bull}');
        expect(problem).toContain(`(got "${prefix}")`);
      },
    );

    it('rejects the default prefix', () => {
      expect(problemsOf({ REDIS_URL, REDIS_CLUSTER: 'on' })).toEqual([
        expect.stringContaining('QUEUE_KEY_PREFIX must contain a hash tag, such as {bull}, when REDIS_CLUSTER is on'),
      ]);
    });

    it('accepts a prefix without a hash tag on a single node', () => {
      expect(loadAppConfig({ REDIS_URL, REDIS_CLUSTER: '0', QUEUE_KEY_PREFIX: 'bull' }).redis.keyPrefix).toBe('bull');
    });

    it.each(['redis://127.0.0.1:7000', 'redis://127.0.0.1:7000/', 'rediss://u:pw@10.0.0.5:6380/0'])(
      'accepts %s',
      (url) => {
        expect(loadAppConfig({ REDIS_URL: url, REDIS_CLUSTER: '1', QUEUE_KEY_PREFIX: CLUSTER_PREFIX }).redis.url).toBe(
          url,
        );
      },
    );

    it('rejects a database other than 0', () => {
      const problems = problemsOf({
        REDIS_URL: 'redis://user:s3cret-pass@10.0.0.5:6379/2',
        REDIS_CLUSTER: '1',
        QUEUE_KEY_PREFIX: CLUSTER_PREFIX,
      });

      expect(problems).toEqual([expect.stringMatching(/^REDIS_URL must not name a database other than 0/)]);
      expect(problems[0]).not.toContain('s3cret-pass');
    });

    it('reports an invalid URL once', () => {
      expect(
        problemsOf({ REDIS_URL: 'redis://host/zero', REDIS_CLUSTER: '1', QUEUE_KEY_PREFIX: CLUSTER_PREFIX }),
      ).toEqual([expect.stringContaining('the database after the host must be a number')]);
    });

    it('in cron mode without REDIS_URL, still requires the hash tag', () => {
      expect(problemsOf({ WORKER_INPROCESS: '0', REDIS_CLUSTER: '1' })).toEqual([
        expect.stringContaining('QUEUE_KEY_PREFIX must contain a hash tag'),
      ]);
    });
  });

  describe('token variables', () => {
    it('prefers DRAIN_QUEUES_TOKEN over CRON_SECRET and CRON_TOKEN', () => {
      const { drain } = loadAppConfig({ REDIS_URL, DRAIN_QUEUES_TOKEN: 'a', CRON_SECRET: 'b', CRON_TOKEN: 'c' });

      expect(drain.token).toBe('a');
      expect(drain.tokenVariable).toBe('DRAIN_QUEUES_TOKEN');
    });

    it('falls through a blank DRAIN_QUEUES_TOKEN to CRON_SECRET', () => {
      const { drain } = loadAppConfig({ REDIS_URL, DRAIN_QUEUES_TOKEN: ' ', CRON_SECRET: 'b', CRON_TOKEN: 'c' });

      expect(drain.token).toBe('b');
      expect(drain.tokenVariable).toBe('CRON_SECRET');
    });

    it('uses CRON_TOKEN when it is the only one set', () => {
      expect(loadAppConfig({ REDIS_URL, CRON_TOKEN: 'c' }).drain.tokenVariable).toBe('CRON_TOKEN');
    });

    it('trims a trailing newline from a token mounted from a file', () => {
      expect(loadAppConfig({ REDIS_URL, DRAIN_QUEUES_TOKEN: 'abc\n' }).drain.token).toBe('abc');
    });
  });

  describe('CRON_ALLOWED_IPS', () => {
    it('canonicalises addresses and ranges', () => {
      const { drain } = loadAppConfig({
        REDIS_URL,
        CRON_ALLOWED_IPS: '203.0.113.7, 2001:DB8:0:0::1 ,10.0.0.0/8,::ffff:192.0.2.1, ::ffff:198.51.100.0/120',
      });

      expect(drain.allowedIps).toEqual(['203.0.113.7', '2001:db8::1', '10.0.0.0/8', '192.0.2.1', '198.51.100.0/24']);
    });

    it('when empty, allows every address', () => {
      expect(loadAppConfig({ REDIS_URL, CRON_ALLOWED_IPS: '' }).drain.allowedIps).toEqual([]);
    });

    it('names an invalid entry', () => {
      expect(problemsOf({ REDIS_URL, CRON_ALLOWED_IPS: '10.0.0.1, 10.0.0.300' })).toEqual([
        expect.stringContaining('(invalid entry: "10.0.0.300")'),
      ]);
    });
  });

  describe('QUEUE_CONCURRENCY', () => {
    it('applies one number to every queue', () => {
      expect(Object.values(loadAppConfig({ REDIS_URL, QUEUE_CONCURRENCY: '4' }).queues.concurrency)).toEqual([
        4, 4, 4, 4, 4,
      ]);
    });

    it('applies a default and per-queue values', () => {
      const { concurrency } = loadAppConfig({ REDIS_URL, QUEUE_CONCURRENCY: '2, batch-jobs=8' }).queues;

      expect(concurrency['batch-jobs']).toBe(8);
      expect(concurrency['seed-jobs']).toBe(2);
    });

    it.each(['0', 'batch-jobs=x', 'unknown-jobs=2', '1.5'])('rejects %s', (value) => {
      expect(problemsOf({ REDIS_URL, QUEUE_CONCURRENCY: value })).toEqual([
        expect.stringContaining('QUEUE_CONCURRENCY must be'),
      ]);
    });

    it.each([
      ['2,batch-jobs=8,batch-jobs=9', '"batch-jobs" is repeated'],
      ['2,3', 'with one default (got two)'],
      ['batch-jobs=8=9', 'with one "=" per queue (got "batch-jobs=8=9")'],
      [',', 'got an empty list'],
    ])('rejects %s', (value, reason) => {
      expect(problemsOf({ REDIS_URL, QUEUE_CONCURRENCY: value })).toEqual([expect.stringContaining(reason)]);
    });
  });

  describe('QUEUE_KEY_PREFIX', () => {
    it('accepts the carriage return of a CRLF .env file', () => {
      expect(loadAppConfig({ REDIS_URL, QUEUE_KEY_PREFIX: 'jobs\r' }).redis.keyPrefix).toBe('jobs');
    });

    it.each(['app:jobs', 'app jobs'])('rejects %s', (value) => {
      expect(problemsOf({ REDIS_URL, QUEUE_KEY_PREFIX: value })).toEqual([
        expect.stringContaining('QUEUE_KEY_PREFIX must be a key prefix without colons or spaces'),
      ]);
    });
  });

  describe('numbers', () => {
    it.each([
      ['DRAIN_QUEUES_RATE_LIMIT', '0'],
      ['DRAIN_QUEUES_RATE_LIMIT', '1e3'],
      ['PORT', '70000'],
      ['PORT', '-1'],
      ['WORKER_DRAIN_DELAY_SECONDS', 'abc'],
    ])('rejects %s=%s', (name, value) => {
      expect(problemsOf({ REDIS_URL, [name]: value })).toEqual([expect.stringMatching(new RegExp(`^${name} must be`))]);
    });
  });

  describe('TRUST_PROXY', () => {
    it.each([
      ['true', true],
      ['false', false],
      ['2', 2],
      ['loopback, 10.0.0.0/8', ['loopback', '10.0.0.0/8']],
    ])('parses %s', (value, expected) => {
      expect(loadAppConfig({ REDIS_URL, TRUST_PROXY: value }).http.trustProxy).toEqual(expected);
    });

    it('rejects an entry that is neither an address nor a known name', () => {
      expect(problemsOf({ REDIS_URL, TRUST_PROXY: 'loopback, proxy.example.com' })).toEqual([
        expect.stringContaining('TRUST_PROXY must be'),
      ]);
    });
  });

  it('reports every invalid variable at once', () => {
    expect(problemsOf({ REDIS_URL, PORT: 'x', LOG_FORMAT: 'xml', DRAIN_DEFAULT_QUEUES: 'nope' })).toHaveLength(3);
  });
});
