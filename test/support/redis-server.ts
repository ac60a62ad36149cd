import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServerOptions {
  /** Password that clients must send with AUTH (`--requirepass`). */
  readonly password?: string;
  /** Serve TLS only, with these PEM files. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly caFile: string };
  /**
   * Keep the data across a stop and restart: the server writes an
   * append-only file, synced after every write, in its temporary directory.
   */
  readonly persistent?: boolean;
  /**
   * Run as a Redis Cluster node whose cluster bus listens on this port. Its
   * nodes.conf goes to a temporary directory, which `destroy()` deletes.
   */
  readonly clusterBusPort?: number;
}

/** A throw-away Redis server that a test starts, stops and restarts by process id. */
export class RedisServer {
  private process: ChildProcess | undefined;
  private dataDirectory: string | undefined;

  private constructor(
    readonly port: number,
    private readonly options: RedisServerOptions = {},
  ) {}

  /** URL of the server, with the password when it has one. */
  get url(): string {
    const scheme = this.options.tls === undefined ? 'redis' : 'rediss';
    const credentials = this.options.password === undefined ? '' : `:${encodeURIComponent(this.options.password)}@`;
    return `${scheme}://${credentials}127.0.0.1:${this.port}`;
  }

  /**
   * Starts `redis-server` from PATH on `port`, by default a free loopback port,
   * without persistence unless asked.
   */
  static async start(options: RedisServerOptions = {}, port?: number): Promise<RedisServer> {
    const server = new RedisServer(port ?? (await freePort()), options);
    await server.restart();
    return server;
  }

  /** Starts the server again on the same port: empty, or with its data when persistent. */
  async restart(): Promise<void> {
    const child = spawn('redis-server', await this.arguments(), { stdio: ['ignore', 'pipe', 'inherit'] });
    this.process = child;
    await waitUntilReady(this.port, child);
  }

  /**
   * Stops the server with SIGKILL, as a crash would, and waits for it to exit.
   * The directory stays for a restart of a persistent server or a cluster
   * node, and is deleted otherwise.
   */
  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    if (this.options.persistent !== true && this.options.clusterBusPort === undefined) {
      await this.removeDataDirectory();
    }
  }

  /** Suspends the server with SIGSTOP: connections stay open but nothing is answered. */
  freeze(): void {
    this.process?.kill('SIGSTOP');
  }

  /** Resumes a frozen server with SIGCONT. */
  thaw(): void {
    this.process?.kill('SIGCONT');
  }

  /** Stops the server and deletes its data directory. */
  async destroy(): Promise<void> {
    this.thaw();
    await this.stop();
    await this.removeDataDirectory();
  }

  private async removeDataDirectory(): Promise<void> {
    if (this.dataDirectory !== undefined) {
      await rm(this.dataDirectory, { recursive: true, force: true });
      this.dataDirectory = undefined;
    }
  }

  private async arguments(): Promise<string[]> {
    const { password, tls, persistent, clusterBusPort } = this.options;
    // A directory of its own, because Redis loads dump.rdb from its directory
    // at start and writes one there for a replica's full sync.
    const args = ['--bind', '127.0.0.1', '--save', '', '--loglevel', 'notice', '--dir', await this.dataDirectoryPath()];
    if (clusterBusPort !== undefined) {
      // The default bus port, the client port plus 10000, may be taken or above 65535.
      args.push('--cluster-enabled', 'yes', '--cluster-port', String(clusterBusPort));
      args.push('--cluster-config-file', join(await this.dataDirectoryPath(), 'nodes.conf'));
    }
    if (persistent === true) {
      args.push('--appendonly', 'yes', '--appendfsync', 'always');
    } else {
      args.push('--appendonly', 'no');
    }
    if (tls === undefined) {
      args.push('--port', String(this.port));
    } else {
      args.push('--port', '0', '--tls-port', String(this.port), '--tls-auth-clients', 'no');
      args.push('--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--tls-ca-cert-file', tls.caFile);
      if (clusterBusPort !== undefined) {
        // The cluster bus uses TLS too, and CLUSTER SLOTS then returns the TLS ports.
        args.push('--tls-cluster', 'yes');
      }
    }
    if (password !== undefined) {
      args.push('--requirepass', password);
    }
    return args;
  }

  private async dataDirectoryPath(): Promise<string> {
    this.dataDirectory ??= await mkdtemp(join(tmpdir(), 'redis-test-'));
    return this.dataDirectory;
  }
}

/** Returns a TCP port on 127.0.0.1 that no process listens on right now. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}

/** Returns `count` different TCP ports on 127.0.0.1 that no process listens on right now. */
export async function freePorts(count: number): Promise<number[]> {
  // The servers stay open until every port is known, so that no port is returned twice.
  const servers = Array.from({ length: count }, () => createServer().listen(0, '127.0.0.1'));
  try {
    await Promise.all(servers.map((server) => once(server, 'listening')));
    return servers.map((server) => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        throw new Error('Could not find a free port.');
      }
      return address.port;
    });
  } finally {
    servers.forEach((server) => server.close());
  }
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
