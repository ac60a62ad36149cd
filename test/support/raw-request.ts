import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { INestApplication } from '@nestjs/common';

export type RawHeader = readonly [name: string, value: string];

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

/** Address of an application that listens on a loopback interface. */
export interface ListeningApp {
  readonly host: string;
  readonly port: number;
}

/** Starts the application's HTTP server on a free port of `host` (127.0.0.1 or ::1). */
export async function listenOnLoopback(app: INestApplication, host = '127.0.0.1'): Promise<ListeningApp> {
  await app.listen(0, host);
  const server = app.getHttpServer() as Server;
  return { host, port: (server.address() as AddressInfo).port };
}

/**
 * Sends a request with exactly the given header lines, in order, through
 * Node's HTTP client. Unlike supertest it can repeat a header, and a value is
 * written as Latin-1, one byte per character, so a test can send any byte
 * sequence (for example the UTF-8 bytes of a token). The path is sent as
 * given, without URL encoding.
 */
export function sendRaw(
  target: ListeningApp,
  method: string,
  path: string,
  headers: readonly RawHeader[],
): Promise<RawResponse> {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const lines = [['Host', `${host}:${target.port}`], ...headers].flat();
  return new Promise((resolve, reject) => {
    const options = { host: target.host, port: target.port, method, path, headers: lines, agent: false };
    const outgoing = httpRequest(options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: parseBody(text) });
      });
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

function parseBody(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { text };
  }
}
