import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** PEM files of a self-signed certificate for 127.0.0.1, which is its own CA. */
export interface TestCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  /** Deletes the files. */
  remove(): Promise<void>;
}

/**
 * Creates a self-signed certificate for the IP address 127.0.0.1 with
 * `openssl`, valid for one day. A client that trusts `caFile` accepts it.
 */
export async function createTestCertificate(): Promise<TestCertificate> {
  const directory = await mkdtemp(join(tmpdir(), 'redis-tls-'));
  const certFile = join(directory, 'cert.pem');
  const keyFile = join(directory, 'key.pem');
  await promisify(execFile)('openssl', [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', keyFile, '-out', certFile, '-days', '1'],
    ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
  ]);
  return {
    certFile,
    keyFile,
    caFile: certFile,
    remove: () => rm(directory, { recursive: true, force: true }),
  };
}
