import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';

import request from 'supertest';

import { DrainService } from '../src/cron/drain.service';
import { RedisUnavailableError } from '../src/cron/drain.errors';
import { DRAIN_PATH } from './support/drain-fixture';
import { createTestApp, TEST_TOKEN, type TestApp } from './support/test-app';

jest.setTimeout(60_000);

/** The drain's bound for connecting, the handshake and the first reply. */
const ANSWER_TIMEOUT_MS = 10_000;
const ABORT_GRACE_MS = 500;

/**
 * A TCP server that accepts connections and never replies, as a Redis host
 * whose process hangs or a proxy whose backend is gone.
 */
class SilentServer {
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server) {
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(): Promise<SilentServer> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return new SilentServer(server);
  }

  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === 'string') {
      throw new Error('The silent server is not listening on a TCP port.');
    }
    return address.port;
  }

  /** Resolves once a client has connected. */
  async connected(): Promise<void> {
    if (this.sockets.size === 0) {
      await once(this.server, 'connection');
    }
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) {
      socket.destroy();
    }
    this.server.close();
    await once(this.server, 'close');
  }
}

describe('drain against a Redis that never replies', () => {
  let silent: SilentServer;
  let testApp: TestApp | undefined;

  beforeEach(async () => {
    silent = await SilentServer.start();
  });

  afterEach(async () => {
    await testApp?.close();
    testApp = undefined;
    await silent.stop();
  });

  async function startApp(url: string): Promise<TestApp> {
    testApp = await createTestApp({ REDIS_URL: url, DRAIN_ABORT_GRACE_MS: String(ABORT_GRACE_MS) });
    return testApp;
  }

  it.each([
    ['without a handshake', ''],
    ['waiting for AUTH', ':drain-test-password@'],
  ])('answers 503 within the answer timeout %s', async (_case, credentials) => {
    const app = await startApp(`redis://${credentials}127.0.0.1:${silent.port}`);
    const startedAt = Date.now();

    const response = await request(app.app.getHttpServer())
      .post(DRAIN_PATH)
      .query({ maxDurationMs: 60_000 })
      .set('Authorization', `Bearer ${TEST_TOKEN}`);

    expect(response.status).toBe(503);
    expect(Date.now() - startedAt).toBeLessThan(ANSWER_TIMEOUT_MS + 2_000);
  });

  it('names the timeout as the cause', async () => {
    const app = await startApp(`redis://127.0.0.1:${silent.port}`);

    const drain = app.app.get(DrainService).drain({ maxDurationMs: 60_000 });

    await expect(drain).rejects.toBeInstanceOf(RedisUnavailableError);
    await expect(drain).rejects.toMatchObject({ reason: `Redis did not answer within ${ANSWER_TIMEOUT_MS} ms` });
  });

  it('stops at once when the application shuts down', async () => {
    const app = await startApp(`redis://127.0.0.1:${silent.port}`);
    const drain = app.app.get(DrainService).drain({ maxDurationMs: 60_000 });
    const outcome = drain.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await silent.connected();

    const stoppedAt = Date.now();
    await app.close();
    testApp = undefined;

    expect(await outcome).toBeInstanceOf(RedisUnavailableError);
    expect(Date.now() - stoppedAt).toBeLessThan(ABORT_GRACE_MS + 2_000);
  });
});
