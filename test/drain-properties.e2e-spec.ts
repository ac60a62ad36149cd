import fc from 'fast-check';

import { DrainService } from '../src/cron/drain.service';
import { QUEUE_NAMES } from '../src/queues/queue-names';
import { CommandRecorder } from './support/queues';
import { listenOnLoopback, sendRaw, type ListeningApp, type RawHeader, type RawResponse } from './support/raw-request';
import { TEST_TOKEN, createTestApp, type TestApp } from './support/test-app';
import { uniquePrefix, useTestRedis, type TestRedis } from './support/test-redis';

const DRAIN_PATH = '/api/v1/cron/drain-queues';
const RUNS = { numRuns: 150 };

// A property sends hundreds of requests; a timed-out test would keep sending
// them into the next one.
jest.setTimeout(120_000);

// Arbitraries ---------------------------------------------------------------

/** Characters that Node's HTTP client writes in a header value: tab, printable ASCII and Latin-1. */
const headerCharacter = fc.oneof(
  fc.constant('\t'),
  fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
  fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)),
);
const headerText = fc.string({ unit: headerCharacter, maxLength: 80 });

/**
 * Characters of a query string: printable ASCII and percent-encoded bytes,
 * valid or not. Node's HTTP server itself responds with 400 for DEL and raw bytes
 * over 0x7f before the application sees the request.
 */
const pathCharacter = fc.oneof(
  fc.constantFrom(...'&=%[]+,.;-_~!$()*\'":/?@'.split('')),
  // A raw # would start a fragment, which no client sends to the server.
  fc.integer({ min: 0x21, max: 0x7e }).map((code) => (code === 0x23 ? '%23' : String.fromCharCode(code))),
  fc.integer({ min: 0, max: 0xff }).map((code) => `%${code.toString(16).padStart(2, '0')}`),
);
const pathText = fc.string({ unit: pathCharacter, maxLength: 40 });

const parameterName = fc.constantFrom('queue', 'maxDurationMs', 'maxConcurrentQueues', 'maxJobsPerQueue');

/** Values that no parameter accepts, whatever the name. */
const invalidNumber = fc.constantFrom(
  '',
  'abc',
  '1e3',
  '1.5',
  '-1',
  '0',
  '+5',
  '%205',
  '5%20',
  '0x10',
  '%EF%BC%91',
  '9007199254740992',
  'NaN',
  'Infinity',
  '%',
  '%zz',
  '%E0%A4%A',
);

/** A query that is invalid by construction, because it contains at least one poisoned pair. */
const invalidQuery = fc
  .tuple(
    fc.array(fc.tuple(fc.oneof(parameterName, pathText), pathText), { maxLength: 4 }),
    fc.oneof(
      pathText.map((name) => [`x${name}`, '1']),
      fc.tuple(fc.constantFrom('maxDurationMs', 'maxConcurrentQueues', 'maxJobsPerQueue'), invalidNumber),
      fc.constantFrom(['maxDurationMs', '600001'], ['maxConcurrentQueues', '51'], ['maxJobsPerQueue', '00']),
      fc.tuple(
        fc.constant('queue'),
        fc.oneof(
          invalidNumber,
          pathText.filter((name) => !isQueueName(name)),
        ),
      ),
      fc.tuple(fc.constantFrom('queue[]', 'queue[0]', 'maxDurationMs[]'), fc.constantFrom('batch-jobs', '5')),
      parameterName.map((name) => [`${name}=5&${name}`, '5']),
      fc.constantFrom(['__proto__', '1'], ['constructor', 'x'], ['hasOwnProperty', '1'], ['toString', '']),
    ),
    fc.nat(),
  )
  .map(([pairs, poison, position]) => {
    const all = [...pairs.filter(([name]) => !isParameterName(decodeLoosely(name)))];
    all.splice(position % (all.length + 1), 0, poison as [string, string]);
    return all.map(([name, value]) => `${name}=${value}`).join('&');
  });

/** A query that is valid by construction. */
const validQuery = fc
  .record(
    {
      queue: fc.constantFrom(...QUEUE_NAMES),
      maxDurationMs: fc.integer({ min: 1, max: 2_000 }),
      maxConcurrentQueues: fc.integer({ min: 1, max: 50 }),
      maxJobsPerQueue: fc.oneof(fc.integer({ min: 1, max: 1_000 }), fc.constant(Number.MAX_SAFE_INTEGER)),
    },
    { requiredKeys: [] },
  )
  .chain((parameters) =>
    fc
      .shuffledSubarray(Object.entries(parameters), { minLength: Object.keys(parameters).length })
      .map((pairs) => pairs.map(([name, value]) => `${name}=${encodeURIComponent(String(value))}`).join('&')),
  );

/** Credential headers with values that are right, wrong, empty or random. */
const credentialHeader = fc.oneof(
  fc.tuple(
    fc.constantFrom('X-Cron-Secret', 'x-cron-token', 'X-CRON-TOKEN'),
    fc.oneof(fc.constant(TEST_TOKEN), fc.constant(''), fc.constant(` ${TEST_TOKEN} `), headerText),
  ),
  fc.tuple(
    fc.constantFrom('Authorization', 'authorization'),
    fc.oneof(
      fc.constant(`Bearer ${TEST_TOKEN}`),
      fc.constant(`bearer   ${TEST_TOKEN}`),
      fc.constant('Bearer undefined'),
      fc.constant('Bearer'),
      fc.constant(`Basic ${TEST_TOKEN}`),
      headerText.map((text) => `Bearer ${text}`),
      headerText,
    ),
  ),
  fc.tuple(fc.constantFrom('X-Other', 'Cookie'), headerText),
);
const credentialHeaders = fc.array(credentialHeader, { maxLength: 4 }) as fc.Arbitrary<RawHeader[]>;

/** X-Forwarded-For values: addresses in every notation, garbage, and lists of them. */
const forwardedEntry = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 70_000 })).map(([address, port]) => `${address}:${port}`),
  fc.ipV6().map((address) => `[${address}]:443`),
  fc.ipV4().map((address) => `::ffff:${address}`),
  fc.constantFrom('unknown', '_hidden', '2130706433', '127.1', 'fe80::1%eth0', '203.0.113.7', '10.0.0.5'),
  headerText.map((text) => text.replace(/,/g, '')),
);
const forwardedFor = fc.array(forwardedEntry, { maxLength: 6 }).map((entries) => entries.join(', '));

// Helpers -------------------------------------------------------------------

function isQueueName(name: string): boolean {
  return (QUEUE_NAMES as readonly string[]).includes(name);
}

function isParameterName(name: string): boolean {
  return ['queue', 'maxDurationMs', 'maxConcurrentQueues', 'maxJobsPerQueue'].includes(name);
}

function decodeLoosely(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** Whether the guard must accept these headers: at least one credential, each carrying the token. */
function carriesOnlyTheToken(headers: readonly RawHeader[]): boolean {
  const credentials = headers.flatMap(([name, value]) => {
    const lower = name.toLowerCase();
    const trimmed = value.replace(/^[ \t]+|[ \t]+$/g, '');
    if (lower === 'x-cron-secret' || lower === 'x-cron-token') {
      return [trimmed];
    }
    if (lower === 'authorization') {
      return [/^bearer +(.*)$/i.exec(trimmed)?.[1]];
    }
    return [];
  });
  return credentials.length > 0 && credentials.every((credential) => credential === TEST_TOKEN);
}

// Properties ----------------------------------------------------------------

describe('drain endpoint under generated input', () => {
  let redis: TestRedis;
  let testApp: TestApp;
  let target: ListeningApp;
  let drain: jest.SpyInstance;

  beforeAll(async () => {
    redis = await useTestRedis();
  });

  afterAll(async () => {
    await redis.stop();
  });

  async function start(env: Record<string, string | undefined> = {}): Promise<void> {
    testApp = await createTestApp({
      REDIS_URL: redis.url,
      QUEUE_KEY_PREFIX: uniquePrefix(),
      DRAIN_QUEUES_RATE_LIMIT: '10000',
      ...env,
    });
    target = await listenOnLoopback(testApp.app);
    drain = jest.spyOn(testApp.app.get(DrainService), 'drain');
  }

  afterEach(async () => {
    await testApp.close();
  });

  /** Sends a request and returns its response with the number of drains it started. */
  async function send(method: string, path: string, headers: readonly RawHeader[]): Promise<[RawResponse, number]> {
    drain.mockClear();
    const response = await sendRaw(target, method, path, headers);
    return [response, drain.mock.calls.length];
  }

  /** Runs a property while MONITOR records Redis, and returns the commands it sent. */
  async function commandsDuring(property: () => Promise<void>): Promise<number> {
    const recorder = await CommandRecorder.start(redis.url);
    try {
      recorder.reset();
      await property();
      await recorder.mark();
      return recorder.count;
    } finally {
      await recorder.stop();
    }
  }

  const method = fc.constantFrom('GET', 'POST');
  const rightToken: RawHeader = ['X-Cron-Secret', TEST_TOKEN];

  describe('when the query is invalid', () => {
    beforeEach(() => start());

    it('should respond with 400, start no drain and send no Redis command', async () => {
      const commands = await commandsDuring(() =>
        fc.assert(
          fc.asyncProperty(method, invalidQuery, async (verb, query) => {
            const [response, drains] = await send(verb, `${DRAIN_PATH}?${query}`, [rightToken]);

            expect(response.status).toBe(400);
            expect(response.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
            expect(drains).toBe(0);
          }),
          RUNS,
        ),
      );

      expect(commands).toBe(0);
    });
  });

  describe('when the query is valid', () => {
    beforeEach(() => start());

    it('should respond with 200 after one drain', async () => {
      await fc.assert(
        fc.asyncProperty(method, validQuery, async (verb, query) => {
          const [response, drains] = await send(verb, `${DRAIN_PATH}?${query}`, [rightToken]);

          expect(response.status).toBe(200);
          expect(drains).toBe(1);
        }),
        { numRuns: 60 },
      );
    });
  });

  describe('when the query is any text', () => {
    beforeEach(() => start());

    it('should respond with 200 or 400, never 500, and drain only on 200', async () => {
      await fc.assert(
        fc.asyncProperty(method, pathText, async (verb, query) => {
          const [response, drains] = await send(verb, `${DRAIN_PATH}?${query}`, [rightToken]);

          expect([200, 400]).toContain(response.status);
          expect(drains).toBe(response.status === 200 ? 1 : 0);
        }),
        RUNS,
      );
    });
  });

  describe('when the credential headers vary', () => {
    beforeEach(() => start());

    it('should admit exactly the requests whose every credential carries the token', async () => {
      await fc.assert(
        fc.asyncProperty(method, credentialHeaders, async (verb, headers) => {
          const [response, drains] = await send(verb, `${DRAIN_PATH}?maxDurationMs=1000`, headers);

          const expected = carriesOnlyTheToken(headers) ? 200 : 401;
          expect(response.status).toBe(expected);
          expect(drains).toBe(expected === 200 ? 1 : 0);
        }),
        RUNS,
      );
    });

    it('should send no Redis command for rejected credentials', async () => {
      const wrongCredentials = credentialHeaders.filter((headers) => !carriesOnlyTheToken(headers));

      const commands = await commandsDuring(() =>
        fc.assert(
          fc.asyncProperty(method, wrongCredentials, pathText, async (verb, headers, query) => {
            const [response, drains] = await send(verb, `${DRAIN_PATH}?${query}`, headers);

            expect(response.status).toBe(401);
            expect(drains).toBe(0);
          }),
          RUNS,
        ),
      );

      expect(commands).toBe(0);
    });
  });

  describe.each([
    ['the default', undefined],
    ['false', 'false'],
    ['a hop count', '2'],
    ['true', 'true'],
  ])('when TRUST_PROXY is %s and X-Forwarded-For varies', (_name, trustProxy) => {
    beforeEach(() => start({ TRUST_PROXY: trustProxy, CRON_ALLOWED_IPS: '203.0.113.0/24, 2001:db8::/32' }));

    it('should respond with 401 or 403, never 500, and send no Redis command', async () => {
      const commands = await commandsDuring(() =>
        fc.assert(
          fc.asyncProperty(method, forwardedFor, credentialHeaders, async (verb, forwarded, headers) => {
            const wrong = headers.filter(([name]) => !/^(x-cron-|authorization)/i.test(name));
            const [response, drains] = await send(verb, DRAIN_PATH, [['X-Forwarded-For', forwarded], ...wrong]);

            expect([401, 403]).toContain(response.status);
            expect(drains).toBe(0);
          }),
          RUNS,
        ),
      );

      expect(commands).toBe(0);
    });
  });

  describe('when every part of the request varies', () => {
    beforeEach(() => start({ CRON_ALLOWED_IPS: '203.0.113.0/24, 127.0.0.1' }));

    it('should never respond with 500 and drain only on 200', async () => {
      await fc.assert(
        fc.asyncProperty(
          method,
          fc.oneof(pathText, validQuery, invalidQuery),
          fc.option(forwardedFor, { nil: undefined }),
          credentialHeaders,
          async (verb, query, forwarded, headers) => {
            const all: RawHeader[] = forwarded === undefined ? headers : [['X-Forwarded-For', forwarded], ...headers];
            const [response, drains] = await send(verb, `${DRAIN_PATH}?${query}`, all);

            expect([200, 400, 401, 403]).toContain(response.status);
            expect(drains).toBe(response.status === 200 ? 1 : 0);
          },
        ),
        RUNS,
      );
    });
  });
});
