import { TEST_TOKEN, createTestApp, type TestApp } from './support/test-app';
import { listenOnLoopback, sendRaw, type ListeningApp, type RawHeader } from './support/raw-request';

const DRAIN_PATH = '/api/v1/cron/drain-queues';
const START = Date.parse('2026-12-04T19:00:00.000Z');

/**
 * Replaces only `Date`, so that the window can be moved while HTTP, timers
 * and promises run in real time.
 */
function freezeDateAt(now: number): void {
  jest.useFakeTimers({
    now,
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'requestAnimationFrame',
      'cancelAnimationFrame',
      'requestIdleCallback',
      'cancelIdleCallback',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
  });
}

// These requests carry no Redis URL: rejected ones never reach Redis, and the
// rate limit is checked before everything else.
describe('drain endpoint rate limit', () => {
  let testApp: TestApp;
  let target: ListeningApp;

  beforeEach(async () => {
    freezeDateAt(START);
    testApp = await createTestApp({ DRAIN_QUEUES_RATE_LIMIT: '2', CRON_ALLOWED_IPS: '203.0.113.0/24, 2001:db8::/32' });
    target = await listenOnLoopback(testApp.app);
  });

  afterEach(async () => {
    await testApp.close();
    jest.useRealTimers();
  });

  const from = (client: string, headers: readonly RawHeader[] = [], method = 'POST', path = DRAIN_PATH) =>
    sendRaw(target, method, path, [['X-Forwarded-For', client], ...headers]);
  const at = (offsetMs: number) => jest.setSystemTime(START + offsetMs);

  describe('when a client exceeds the limit', () => {
    it('should respond with 429 with Retry-After in whole seconds and the usual error body', async () => {
      await from('203.0.113.7');
      await from('203.0.113.7');

      const response = await from('203.0.113.7');

      expect(response.status).toBe(429);
      expect(response.headers['retry-after']).toBe('60');
      expect(response.headers['retry-after-default']).toBeUndefined();
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.body).toEqual({
        statusCode: 429,
        error: 'Too Many Requests',
        message:
          'Too many drain requests from this client: at most 2 are accepted in any 60 seconds. Retry after 60 seconds, or call less often.',
      });
    });

    it('should set Retry-After to the time until the oldest request leaves the window', async () => {
      await from('203.0.113.7');
      at(20_000);
      await from('203.0.113.7');
      at(30_500);

      const response = await from('203.0.113.7');

      expect(response.status).toBe(429);
      expect(response.headers['retry-after']).toBe('30');
    });

    it('should respond with 429 before the allowlist, the token and the query are checked', async () => {
      await from('198.51.100.1');
      await from('198.51.100.1');

      const response = await sendRaw(target, 'POST', `${DRAIN_PATH}?bogus=1`, [
        ['X-Forwarded-For', '198.51.100.1'],
        ['X-Cron-Secret', 'wrong'],
      ]);

      expect(response.status).toBe(429);
    });
  });

  describe('when requests are rejected by a later check', () => {
    it.each<[string, string, RawHeader[], string, number]>([
      ['the allowlist', '198.51.100.1', [], DRAIN_PATH, 403],
      ['the token', '203.0.113.7', [['X-Cron-Secret', 'wrong']], DRAIN_PATH, 401],
      ['the query', '203.0.113.7', [['X-Cron-Secret', TEST_TOKEN]], `${DRAIN_PATH}?maxDurationMs=-1`, 400],
    ])('should count requests rejected by %s', async (_case, client, headers, path, status) => {
      const first = await from(client, headers, 'POST', path);
      const second = await from(client, headers, 'POST', path);
      const third = await from(client, headers, 'POST', path);

      expect([first.status, second.status, third.status]).toEqual([status, status, 429]);
    });
  });

  describe('when the window slides', () => {
    it('should free one slot when the oldest request leaves, not reset the window', async () => {
      await from('203.0.113.7');
      at(20_000);
      await from('203.0.113.7');

      at(60_000);
      const afterOldestLeft = await from('203.0.113.7');
      const immediatelyAfter = await from('203.0.113.7');

      expect(afterOldestLeft.status).toBe(401);
      expect(immediatelyAfter.status).toBe(429);
      expect(immediatelyAfter.headers['retry-after']).toBe('20');
    });

    it('should not count rejected requests against the next window', async () => {
      await from('203.0.113.7');
      await from('203.0.113.7');
      for (const offsetMs of [10_000, 30_000, 59_000]) {
        at(offsetMs);
        expect((await from('203.0.113.7')).status).toBe(429);
      }

      at(60_000);
      const first = await from('203.0.113.7');
      const second = await from('203.0.113.7');

      expect([first.status, second.status]).toEqual([401, 401]);
    });
  });

  describe('when several clients call', () => {
    it('should give each IPv4 client its own window', async () => {
      await from('203.0.113.7');
      await from('203.0.113.7');

      expect((await from('203.0.113.7')).status).toBe(429);
      expect((await from('203.0.113.8')).status).toBe(401);
    });

    it('should count IPv6 clients of one /64 together', async () => {
      await from('2001:db8:1:2::1');
      await from('[2001:db8:1:2:ffff::9]:443');

      expect((await from('2001:db8:1:2:abcd::5')).status).toBe(429);
      expect((await from('2001:db8:1:3::1')).status).toBe(401);
    });

    it('should count an IPv4 client and its mapped IPv6 form together', async () => {
      await from('203.0.113.7');
      await from('::ffff:203.0.113.7');

      expect((await from('203.0.113.7:5000')).status).toBe(429);
    });
  });

  describe('when a client alternates GET and POST', () => {
    it('should count both methods in one window', async () => {
      await from('203.0.113.7', [], 'GET');
      await from('203.0.113.7', [], 'POST');

      expect((await from('203.0.113.7', [], 'GET')).status).toBe(429);
    });
  });

  describe('when a request is admitted', () => {
    it('should report the limit and the remaining requests', async () => {
      const response = await from('203.0.113.7');

      expect(response.headers['x-ratelimit-limit']).toBe('2');
      expect(response.headers['x-ratelimit-remaining']).toBe('1');
      expect(response.headers['x-ratelimit-reset']).toBe('60');
    });
  });
});
