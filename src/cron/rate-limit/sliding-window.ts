import type { ThrottlerStorage } from '@nestjs/throttler';

/** Record that a `ThrottlerStorage` returns per request. @nestjs/throttler 6.7 does not export its type by name. */
export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * Builds the record that `ThrottlerGuard` reads from a sliding-window count.
 * Both times are whole seconds until the oldest hit leaves the window, because
 * that is when the next slot frees. A blocked request waits at least 1 s.
 */
export function toThrottlerRecord(
  totalHits: number,
  isBlocked: boolean,
  msUntilSlotFrees: number,
): ThrottlerStorageRecord {
  const secondsUntilSlotFrees = Math.ceil(Math.max(msUntilSlotFrees, 0) / 1_000);
  return {
    totalHits,
    timeToExpire: secondsUntilSlotFrees,
    isBlocked,
    timeToBlockExpire: isBlocked ? Math.max(secondsUntilSlotFrees, 1) : 0,
  };
}
