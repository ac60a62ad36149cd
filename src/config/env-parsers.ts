import { isIP } from 'node:net';

import ipaddr from 'ipaddr.js';
import proxyAddr from 'proxy-addr';

import { isQueueName, QUEUE_NAMES, type QueueName } from '../queues/queue-names';
import type { TrustProxySetting } from './app-config';

/**
 * Parsers for environment values. Each returns the parsed value or throws an
 * `InvalidValueError` whose message completes "VARIABLE must be …" and never
 * repeats a secret.
 */
export class InvalidValueError extends Error {}

export const TRUE_WORDS = ['1', 'true', 'yes', 'on'] as const;
export const FALSE_WORDS = ['0', 'false', 'no', 'off'] as const;

const DECIMAL_INTEGER = /^\d+$/;
const TRUST_PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

export function parseFlag(value: string): boolean {
  const word = value.trim().toLowerCase();
  if ((TRUE_WORDS as readonly string[]).includes(word)) {
    return true;
  }
  if ((FALSE_WORDS as readonly string[]).includes(word)) {
    return false;
  }
  throw new InvalidValueError(`one of ${[...TRUE_WORDS, ...FALSE_WORDS].join(', ')} (got "${value}")`);
}

export function parseInteger(value: string, min: number, max: number): number {
  const text = value.trim();
  const number = DECIMAL_INTEGER.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw new InvalidValueError(`a whole number from ${min} to ${max} (got "${value}")`);
  }
  return number;
}

export function parseQueueList(value: string): QueueName[] {
  const names = splitList(value);
  if (names.length === 0) {
    throw new InvalidValueError('a comma-separated list of queue names');
  }
  for (const name of names) {
    if (!isQueueName(name)) {
      throw new InvalidValueError(
        `a comma-separated list of queue names from ${QUEUE_NAMES.join(', ')} (unknown: "${name}")`,
      );
    }
  }
  return [...new Set(names)] as QueueName[];
}

/**
 * Parses `4` (every queue) or `2,batch-jobs=8` (a default and per-queue values).
 */
export function parseConcurrency(value: string, queues: readonly QueueName[]): Record<QueueName, number> {
  const entries = splitList(value);
  if (entries.length === 0) {
    throw new InvalidValueError('a number or a list such as "2,batch-jobs=8" (got an empty list)');
  }
  const perQueue = new Map<QueueName, number>();
  let fallback: number | undefined;
  for (const entry of entries) {
    const parts = entry.split('=');
    if (parts.length > 2) {
      throw new InvalidValueError(
        `a number or a list such as "2,batch-jobs=8" with one "=" per queue (got "${entry}")`,
      );
    }
    const [name, count] = parts.length === 2 ? parts : [undefined, entry];
    const concurrency = parseConcurrencyCount(count ?? '');
    if (name === undefined) {
      if (fallback !== undefined) {
        throw new InvalidValueError('a number or a list such as "2,batch-jobs=8" with one default (got two)');
      }
      fallback = concurrency;
      continue;
    }
    const queue = name.trim();
    if (!isQueueName(queue)) {
      throw new InvalidValueError(`a number or a list such as "2,batch-jobs=8" (unknown queue: "${queue}")`);
    }
    if (perQueue.has(queue)) {
      throw new InvalidValueError(
        `a number or a list such as "2,batch-jobs=8" that names each queue once ("${queue}" is repeated)`,
      );
    }
    perQueue.set(queue, concurrency);
  }
  return Object.fromEntries(queues.map((queue) => [queue, perQueue.get(queue) ?? fallback ?? 1])) as Record<
    QueueName,
    number
  >;
}

function parseConcurrencyCount(text: string): number {
  try {
    return parseInteger(text, 1, 1_000);
  } catch {
    throw new InvalidValueError(
      `a number or a list such as "2,batch-jobs=8" with counts from 1 to 1000 (got "${text.trim()}")`,
    );
  }
}

/**
 * Parses a list of IPv4 or IPv6 addresses and CIDR ranges into canonical
 * strings, so that `::ffff:10.0.0.1` and `10.0.0.1` name the same client.
 * Only the standard notations are accepted: ipaddr.js alone would also read
 * `10.1` as 10.0.0.1 and `167772161` as 10.0.0.1, which nobody means in an
 * allowlist.
 */
export function parseAddressList(value: string): string[] {
  return splitList(value).map((entry) => {
    const range = parseStandardRange(entry);
    if (range === undefined) {
      throw new InvalidValueError(
        `a comma-separated list of IPv4 or IPv6 addresses or CIDR ranges, such as 203.0.113.7, 2001:db8::/32 (invalid entry: "${entry}")`,
      );
    }
    const [address, prefixLength] = range;
    const isHost = prefixLength === (address.kind() === 'ipv4' ? 32 : 128);
    if (!entry.includes('/') && isHost) {
      return canonicalAddress(address);
    }
    return `${canonicalAddress(address)}/${canonicalPrefixLength(address, prefixLength)}`;
  });
}

/** Parses `address` or `address/prefix` in standard notation, or returns `undefined`. */
function parseStandardRange(entry: string): [ipaddr.IPv4 | ipaddr.IPv6, number] | undefined {
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const prefix = slash === -1 ? undefined : entry.slice(slash + 1);
  if (isIP(address) === 0 || address.includes('%')) {
    return undefined;
  }
  if (prefix !== undefined && !DECIMAL_INTEGER.test(prefix)) {
    return undefined;
  }
  try {
    return prefix === undefined ? [ipaddr.parse(address), address.includes(':') ? 128 : 32] : ipaddr.parseCIDR(entry);
  } catch {
    return undefined;
  }
}

function canonicalAddress(address: ipaddr.IPv4 | ipaddr.IPv6): string {
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (address as ipaddr.IPv6).toIPv4Address().toString();
  }
  // ipaddr.js 2 prints IPv6 in the RFC 5952 form: lower case, zeros compressed.
  return address.toString();
}

function canonicalPrefixLength(address: ipaddr.IPv4 | ipaddr.IPv6, prefixLength: number): number {
  const isMapped = address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress();
  return isMapped ? Math.max(prefixLength - 96, 0) : prefixLength;
}

/**
 * Parses Express `trust proxy` values: `true`, `false`, a hop count, or a list
 * of addresses, CIDR ranges and the names loopback, linklocal and uniquelocal.
 * List entries must use the standard notations, as in `CRON_ALLOWED_IPS`.
 */
export function parseTrustProxy(value: string): TrustProxySetting {
  const text = value.trim().toLowerCase();
  if (text === 'true' || text === 'false') {
    return text === 'true';
  }
  const usage = `true, false, a hop count from 0 to 100, or a comma-separated list of addresses, CIDR ranges and the names ${TRUST_PROXY_NAMES.join(', ')}`;
  if (DECIMAL_INTEGER.test(text)) {
    try {
      return parseInteger(text, 0, 100);
    } catch {
      throw new InvalidValueError(`${usage} (got "${text}")`);
    }
  }
  const entries = splitList(text);
  if (entries.length === 0) {
    throw new InvalidValueError(usage);
  }
  for (const entry of entries) {
    if (!TRUST_PROXY_NAMES.includes(entry) && parseStandardRange(entry) === undefined) {
      throw new InvalidValueError(`${usage} (invalid entry: "${entry}")`);
    }
  }
  try {
    proxyAddr.compile(entries);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new InvalidValueError(`${usage} (${detail})`);
  }
  return entries;
}

const MAX_PORT = 65_535;

/**
 * Checks a Redis URL without ever echoing it, because it may carry a password.
 */
export function parseRedisUrl(value: string): string {
  const text = value.trim();
  const usage = 'a redis:// or rediss:// URL such as redis://user:password@host:6379/0';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    const port = /^rediss?:\/\/(?:[^@/]*@)?(?:\[[^\]]*\]|[^:/]*):(\d+)(?:\/|$)/.exec(text)?.[1];
    if (port !== undefined && Number(port) > MAX_PORT) {
      throw new InvalidValueError(`${usage} (the port must be from 1 to ${MAX_PORT})`);
    }
    throw new InvalidValueError(usage);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new InvalidValueError(`${usage} (the scheme is not redis or rediss)`);
  }
  if (url.hostname === '') {
    throw new InvalidValueError(`${usage} (the host is missing)`);
  }
  const database = url.pathname.replace(/^\//, '');
  if (database !== '' && !DECIMAL_INTEGER.test(database)) {
    throw new InvalidValueError(`${usage} (the database after the host must be a number)`);
  }
  // ioredis decodes the user name and password, and an invalid escape makes
  // every connection attempt throw instead of failing once at start-up.
  for (const [part, encoded] of [
    ['user name', url.username],
    ['password', url.password],
  ] as const) {
    try {
      decodeURIComponent(encoded);
    } catch {
      throw new InvalidValueError(
        `${usage} (the ${part} contains a % that does not start a percent-encoded byte: write a literal % as %25)`,
      );
    }
  }
  return text;
}

/**
 * Returns whether keys that start with `prefix` get their Redis Cluster hash
 * slot from it: Redis hashes only the part between the first `{` and the first
 * `}` after it, when that part is not empty.
 */
export function hasHashTag(prefix: string): boolean {
  const open = prefix.indexOf('{');
  return open !== -1 && prefix.indexOf('}', open + 1) > open + 1;
}

/** Returns the database number of a URL that `parseRedisUrl` accepted; 0 when it names none. */
export function redisUrlDatabase(value: string): number {
  const database = new URL(value.trim()).pathname.replace(/^\//, '');
  return database === '' ? 0 : Number(database);
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}
