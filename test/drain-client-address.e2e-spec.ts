import { createTestApp, type TestApp } from './support/test-app';
import { listenOnLoopback, sendRaw, type ListeningApp, type RawHeader } from './support/raw-request';

const DRAIN_PATH = '/api/v1/cron/drain-queues';
/** An address no test request comes from, so the 403 message names the address the API derived. */
const NOBODY = '192.0.2.1';

// Requests without a token: a client the allowlist admits gets 401, one it
// rejects gets 403. No Redis is needed.
describe('drain endpoint client address', () => {
  let testApp: TestApp;
  let target: ListeningApp;

  async function start(env: Record<string, string | undefined>, host?: string): Promise<void> {
    testApp = await createTestApp({ DRAIN_QUEUES_RATE_LIMIT: '10000', ...env });
    target = await listenOnLoopback(testApp.app, host);
  }

  afterEach(async () => {
    await testApp.close();
  });

  const send = (forwardedFor?: string) => {
    const headers: RawHeader[] = forwardedFor === undefined ? [] : [['X-Forwarded-For', forwardedFor]];
    return sendRaw(target, 'POST', DRAIN_PATH, headers);
  };

  async function derivedAddress(forwardedFor?: string): Promise<string | undefined> {
    const response = await send(forwardedFor);
    expect(response.status).toBe(403);
    return /^Client address (\S+) is not allowed/.exec(String(response.body.message))?.[1];
  }

  describe.each<[string, string | undefined, [string | undefined, string][]]>([
    [
      'the default',
      undefined,
      [
        [undefined, '127.0.0.1'],
        [' , ', '127.0.0.1'],
        ['203.0.113.7', '203.0.113.7'],
        ['198.51.100.9, 203.0.113.7', '203.0.113.7'],
        ['198.51.100.9, 10.0.0.5', '198.51.100.9'],
        ['198.51.100.9, 10.0.0.5:51000', '198.51.100.9'],
        ['203.0.113.7:41234', '203.0.113.7'],
        ['[2001:DB8:0::1]:443', '2001:db8::1'],
        ['::ffff:203.0.113.7', '203.0.113.7'],
        ['fe80::1%eth0', 'fe80::1'],
      ],
    ],
    [
      'false',
      'false',
      [
        [undefined, '127.0.0.1'],
        ['203.0.113.7', '127.0.0.1'],
      ],
    ],
    [
      'a hop count of 1',
      '1',
      [
        ['203.0.113.7', '203.0.113.7'],
        ['198.51.100.9, 203.0.113.7', '203.0.113.7'],
      ],
    ],
    [
      'a hop count of 2',
      '2',
      [
        ['198.51.100.9, 203.0.113.7', '198.51.100.9'],
        ['192.0.2.77, 198.51.100.9, 203.0.113.7', '198.51.100.9'],
      ],
    ],
    [
      'true',
      'true',
      [
        ['198.51.100.9, 203.0.113.7', '198.51.100.9'],
        ['203.0.113.7:41234, 10.0.0.5', '203.0.113.7'],
      ],
    ],
  ])('when TRUST_PROXY is %s', (_name, trustProxy, cases) => {
    beforeEach(async () => {
      await start({ TRUST_PROXY: trustProxy, CRON_ALLOWED_IPS: NOBODY });
    });

    it.each(cases)('should derive the client from X-Forwarded-For %s as %s', async (forwardedFor, client) => {
      expect(await derivedAddress(forwardedFor)).toBe(client);
    });
  });

  describe('when CRON_ALLOWED_IPS lists the forwarded client', () => {
    it.each<[string, string | undefined, string, number]>([
      ['the default trust', undefined, '203.0.113.7', 401],
      ['the default trust, with a port', undefined, '203.0.113.7:5000', 401],
      ['TRUST_PROXY=false', 'false', '203.0.113.7', 403],
      ['TRUST_PROXY=true, forged on the left', 'true', '203.0.113.7, 198.51.100.9', 401],
      ['the default trust, forged on the left', undefined, '203.0.113.7, 198.51.100.9', 403],
    ])('with %s should respond with %s', async (_case, trustProxy, forwardedFor, status) => {
      await start({ TRUST_PROXY: trustProxy, CRON_ALLOWED_IPS: '203.0.113.0/24' });

      expect((await send(forwardedFor)).status).toBe(status);
    });
  });

  describe('when the client entry is malformed', () => {
    beforeEach(async () => {
      await start({ CRON_ALLOWED_IPS: '0.0.0.0/0, ::/0' });
    });

    it.each(['unknown', '_hidden', '""', '2130706433', '203.0.113.7:99999', '[2001:db8::1', 'x'.repeat(2_000)])(
      'should reject %s with 403 even when every address is allowed',
      async (forwardedFor) => {
        const response = await send(forwardedFor);

        expect(response.status).toBe(403);
        expect(response.body.message).toContain('is not a valid IP address');
      },
    );

    it('should send the 403 with Cache-Control: no-store', async () => {
      const response = await send('unknown');

      expect(response.headers['cache-control']).toBe('no-store');
    });
  });

  describe('when the client connects over IPv6', () => {
    it('should see the IPv6 loopback peer', async () => {
      await start({ TRUST_PROXY: 'false', CRON_ALLOWED_IPS: NOBODY }, '::1');

      expect(await derivedAddress('203.0.113.7')).toBe('::1');
    });

    it('should admit the IPv6 loopback peer when it is listed', async () => {
      await start({ TRUST_PROXY: 'false', CRON_ALLOWED_IPS: '::1' }, '::1');

      expect((await send()).status).toBe(401);
    });
  });
});
