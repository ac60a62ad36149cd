import type { IncomingMessage } from 'node:http';

import { HttpException, ServiceUnavailableException, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ThrottlerStorage } from '@nestjs/throttler';

import { loadAppConfig } from '../../config/load-app-config';
import { ClientAddressResolver } from '../guards/client-address.resolver';
import { DrainThrottlerGuard, rateLimitTracker } from './drain-throttler.guard';
import { InMemorySlidingWindowStorage } from './in-memory-sliding-window.storage';
import { RateLimitStoreUnavailableError } from './rate-limit.errors';

describe(rateLimitTracker.name, () => {
  it.each([
    ['an IPv4 client by its address', { address: '203.0.113.7', reportedBy: undefined }, '203.0.113.7'],
    ['an IPv6 client by its /64', { address: '2001:db8:1:2:3:4:5:6', reportedBy: undefined }, '2001:db8:1:2::/64'],
    ['IPv6 loopback by its /64', { address: '::1', reportedBy: undefined }, '::/64'],
    [
      'a malformed client by the proxy that reported it',
      { address: undefined, reportedBy: '10.0.0.5' },
      'unknown-client-via:10.0.0.5',
    ],
    [
      'a client with no known hop as unknown',
      { address: undefined, reportedBy: undefined },
      'unknown-client-via:unknown',
    ],
  ])('should count %s', (_case, client, tracker) => {
    expect(rateLimitTracker(client)).toBe(tracker);
  });

  it('should count two hosts of one /64 together', () => {
    const first = rateLimitTracker({ address: '2001:db8:1:2::1', reportedBy: undefined });
    const second = rateLimitTracker({ address: '2001:db8:1:2:ffff:ffff:ffff:ffff', reportedBy: undefined });

    expect(first).toBe(second);
  });

  it('should count neighbouring /64 networks apart', () => {
    const first = rateLimitTracker({ address: '2001:db8:1:2::1', reportedBy: undefined });
    const second = rateLimitTracker({ address: '2001:db8:1:3::1', reportedBy: undefined });

    expect(first).not.toBe(second);
  });
});

describe(DrainThrottlerGuard.name, () => {
  const config = loadAppConfig({ WORKER_INPROCESS: '0', DRAIN_QUEUES_RATE_LIMIT: '1' });

  async function createGuard(storage: ThrottlerStorage): Promise<DrainThrottlerGuard> {
    const options = { throttlers: [{ ttl: 60_000, limit: config.drain.rateLimitPerMinute }] };
    const guard = new DrainThrottlerGuard(options, storage, new Reflector(), new ClientAddressResolver(config));
    await guard.onModuleInit();
    return guard;
  }

  function contextFor(peer: string, handler: () => void) {
    const headers = new Map<string, string>();
    const request = { headers: {}, socket: { remoteAddress: peer } } as unknown as IncomingMessage;
    const response = { setHeader: (name: string, value: string) => headers.set(name.toLowerCase(), String(value)) };
    const context = {
      switchToHttp: () => ({ getRequest: () => request, getResponse: () => response }),
      getHandler: () => handler,
      getClass: () => DrainThrottlerGuard,
    } as unknown as ExecutionContext;
    return { context, headers };
  }

  describe('when a client exceeds the limit', () => {
    it('should reject with 429, Retry-After and Nest’s error body', async () => {
      const storage = new InMemorySlidingWindowStorage(() => 0);
      const sut = await createGuard(storage);
      await sut.canActivate(contextFor('203.0.113.7', function drainByPost() {}).context);
      const { context, headers } = contextFor('203.0.113.7', function drainByPost() {});

      const rejection = sut.canActivate(context);

      await expect(rejection).rejects.toBeInstanceOf(HttpException);
      await expect(rejection).rejects.toMatchObject({
        response: { statusCode: 429, error: 'Too Many Requests', message: expect.stringContaining('Retry after 60') },
      });
      expect(headers.get('retry-after')).toBe('60');
      storage.onApplicationShutdown();
    });

    it('should count GET and POST in one window', async () => {
      const storage = new InMemorySlidingWindowStorage(() => 0);
      const sut = await createGuard(storage);
      await sut.canActivate(contextFor('203.0.113.7', function drainByPost() {}).context);

      const rejection = sut.canActivate(contextFor('203.0.113.7', function drainByGet() {}).context);

      await expect(rejection).rejects.toMatchObject({ status: 429 });
      storage.onApplicationShutdown();
    });
  });

  describe('when the storage is unavailable', () => {
    it('should reject with 503 and Retry-After', async () => {
      const storage: ThrottlerStorage = {
        increment: () => Promise.reject(new RateLimitStoreUnavailableError('connection refused')),
      };
      const sut = await createGuard(storage);
      const { context, headers } = contextFor('203.0.113.7', function drainByPost() {});

      await expect(sut.canActivate(context)).rejects.toBeInstanceOf(ServiceUnavailableException);
      expect(headers.get('retry-after')).toBe('30');
    });

    it('should pass on other errors unchanged', async () => {
      const failure = new Error('bug');
      const sut = await createGuard({ increment: () => Promise.reject(failure) });

      await expect(sut.canActivate(contextFor('203.0.113.7', function drainByPost() {}).context)).rejects.toBe(failure);
    });
  });
});
