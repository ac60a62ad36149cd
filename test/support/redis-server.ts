import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

export interface RedisServerOptions {
  /** Password that clients must send with AUTH (`--requirepass`). */
  readonly password?: string;
  /** Serve TLS only, with these PEM files. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly caFile: string };
}

/** A throw-away Redis server that a test starts, stops and restarts by process id. */
export class RedisServer {
  private process: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly options: RedisServerOptions,
  ) {}

  /** URL of the server, with the password when it has one. */
  get url(): string {
    const scheme = this.options.tls === undefined ? 'redis' : 'rediss';
    const credentials = this.options.password === undefined ? '' : `:${encodeURIComponent(this.options.password)}@`;
    return `${scheme}://${credentials}127.0.0.1:${this.port}`;
  }

  /** Starts `redis-server` from PATH on a free loopback port, without persistence. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), options);
    await server.restart();
    return server;
  }

  /** Starts the server again on the same port, empty. */
  async restart(): Promise<void> {
    const child = spawn('redis-server', this.arguments(), { stdio: ['ignore', 'pipe', 'inherit'] });
    this.process = child;
    await waitUntilReady(this.port, child);
  }

  private arguments(): string[] {
    const { password, tls } = this.options;
    const args = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'notice'];
    if (tls === undefined) {
      args.push('--port', String(this.port));
    } else {
      args.push('--port', '0', '--tls-port', String(this.port), '--tls-auth-clients', 'no');
      args.push('--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--tls-ca-cert-file', tls.caFile);
    }
    if (password !== undefined) {
      args.push('--requirepass', password);
    }
    return args;
  }

  /** Stops the server with SIGKILL, as a crash would, and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (child === undefined || child.exitCode !== null) {
      return;
    }
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') {
    throw new Error('Could not find a free port.');
  }
  return address.port;
}

/** Resolves when redis-server logs that it accepts connections, or rejects when it exits first. */
async function waitUntilReady(port: number, child: ChildProcess): Promise<void> {
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        child.stdout?.off('data', onData);
        // Keep reading so that the pipe closes when the server exits.
        child.stdout?.resume();
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) =>
      reject(
        new Error(`redis-server exited with code ${code} before accepting connections on port ${port}:\n${output}`),
      ),
    );
  });
}
