import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { Redis } from 'ioredis';

import { RedisServer } from '../../test/support/redis-server';

/** A TLS-only throw-away Redis with a self-signed certificate for 127.0.0.1. */
export interface TlsRedis {
  readonly server: RedisServer;
  /** PEM file to trust, for example through NODE_EXTRA_CA_CERTS. */
  readonly caFile: string;
  stop(): Promise<void>;
}

export async function startTlsRedis(password: string): Promise<TlsRedis> {
  const directory = await mkdtemp(join(tmpdir(), 'bench-tls-'));
  const certFile = join(directory, 'cert.pem');
  const keyFile = join(directory, 'key.pem');
  await promisify(execFile)('openssl', [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'],
    ...['-keyout', keyFile, '-out', certFile, '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
  ]);
  const server = await RedisServer.start({ password, tls: { certFile, keyFile, caFile: certFile } });
  return {
    server,
    caFile: certFile,
    stop: async () => {
      await server.stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * Counts the commands that Redis has rejected before running them since it
 * started. MONITOR does not show them, and Redis 7.0 leaves an unknown CLIENT
 * subcommand out of the command statistics too, so the count is the error
 * replies minus the errors of commands that did run.
 */
export async function rejectedCommands(url: string): Promise<number> {
  const client = new Redis(url, {
    protocol: 2,
    enableReadyCheck: false,
    disableClientInfo: true,
    maintNotifications: 'disabled',
  });
  try {
    const stats = await client.info('stats');
    const commandStats = await client.info('commandstats');
    const errorReplies = Number(/total_error_replies:(\d+)/.exec(stats)?.[1] ?? 0);
    const failedCalls = [...commandStats.matchAll(/failed_calls=(\d+)/g)].reduce(
      (total, match) => total + Number(match[1]),
      0,
    );
    return errorReplies - failedCalls;
  } finally {
    client.disconnect();
  }
}
