import type { OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';

import { toThrottlerRecord, type ThrottlerStorageRecord } from './sliding-window';

interface Window {
  /** Times of the accepted hits in ms, oldest first. */
  readonly hits: number[];
  readonly windowMs: number;
}

/** Interval of the sweep that removes clients whose window is empty. */
const SWEEP_INTERVAL_MS = 60_000;

/**
 * A `ThrottlerStorage` that keeps a true sliding window per client in the
 * process and sends no Redis command.
 *
 * A request is accepted when fewer than `limit` accepted requests of the same
 * client fall in the last `ttl` milliseconds. A rejected request is not
 * recorded, so a client that keeps retrying gets a slot as soon as the oldest
 * hit leaves the window. `blockDuration` is ignored. Memory is bounded by
 * `limit` timestamps per client seen in the last window.
 */
export class InMemorySlidingWindowStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly windows = new Map<string, Window>();
  private sweepTimer: NodeJS.Timeout | undefined;

  /** @param now Clock in ms; tests replace it. */
  constructor(private readonly now: () => number = () => Date.now()) {}

  increment(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    this.startSweep();
    const now = this.now();
    const window = this.windows.get(key) ?? { hits: [], windowMs: ttl };
    this.windows.set(key, window);
    dropExpiredHits(window.hits, now - ttl);

    const isBlocked = window.hits.length >= limit;
    if (!isBlocked) {
      window.hits.push(now);
    }
    const oldestHit = window.hits[0] ?? now;
    return Promise.resolve(toThrottlerRecord(window.hits.length, isBlocked, oldestHit + ttl - now));
  }

  /** Number of clients whose window is kept, for tests and diagnostics. */
  get size(): number {
    return this.windows.size;
  }

  /** Forgets every client whose hits have all left the window. */
  sweep(): void {
    const now = this.now();
    for (const [key, window] of this.windows) {
      dropExpiredHits(window.hits, now - window.windowMs);
      if (window.hits.length === 0) {
        this.windows.delete(key);
      }
    }
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    this.windows.clear();
  }

  private startSweep(): void {
    if (this.sweepTimer === undefined) {
      this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
      // The sweep only frees memory, so it must not keep the process alive.
      this.sweepTimer.unref();
    }
  }
}

/** Removes the hits at or before `cutoff` from the front of a sorted list. */
function dropExpiredHits(hits: number[], cutoff: number): void {
  let expired = 0;
  while (expired < hits.length && hits[expired]! <= cutoff) {
    expired += 1;
  }
  hits.splice(0, expired);
}
