import { InMemorySlidingWindowStorage } from './in-memory-sliding-window.storage';

const WINDOW_MS = 60_000;
const LIMIT = 2;

describe(InMemorySlidingWindowStorage.name, () => {
  let now: number;
  let sut: InMemorySlidingWindowStorage;

  beforeEach(() => {
    now = 1_000_000;
    sut = new InMemorySlidingWindowStorage(() => now);
  });

  afterEach(() => {
    sut.onApplicationShutdown();
  });

  const hit = (key = 'client') => sut.increment(key, WINDOW_MS, LIMIT);

  describe('when a client stays within the limit', () => {
    it('should accept each request and count it', async () => {
      const first = await hit();
      now += 1_000;
      const second = await hit();

      expect(first).toMatchObject({ totalHits: 1, isBlocked: false, timeToBlockExpire: 0 });
      expect(second).toMatchObject({ totalHits: 2, isBlocked: false, timeToBlockExpire: 0 });
    });

    it('should report the seconds until the oldest request leaves the window', async () => {
      await hit();
      now += 20_000;

      expect((await hit()).timeToExpire).toBe(40);
    });
  });

  describe('when a client exceeds the limit', () => {
    it('should block it until the oldest request leaves the window', async () => {
      await hit();
      now += 20_000;
      await hit();
      now += 10_000;

      expect(await hit()).toMatchObject({ isBlocked: true, timeToBlockExpire: 30 });
    });

    it('should round a partial second up', async () => {
      await hit();
      await hit();
      now += 59_500;

      expect((await hit()).timeToBlockExpire).toBe(1);
    });

    it('should not count rejected requests', async () => {
      await hit();
      now += 20_000;
      await hit();
      for (let attempt = 0; attempt < 5; attempt++) {
        now += 1_000;
        await hit();
      }
      now = 1_000_000 + WINDOW_MS;

      expect((await hit()).isBlocked).toBe(false);
    });
  });

  describe('when the window slides', () => {
    it('should free one slot when the oldest request leaves, not reset the window', async () => {
      await hit();
      now += 20_000;
      await hit();

      now = 1_000_000 + WINDOW_MS;
      const afterOldestLeft = await hit();
      const immediatelyAfter = await hit();

      expect(afterOldestLeft.isBlocked).toBe(false);
      expect(immediatelyAfter).toMatchObject({ isBlocked: true, timeToBlockExpire: 20 });
    });

    it('should keep a request that is one millisecond younger than the window', async () => {
      await hit();
      await hit();
      now += WINDOW_MS - 1;

      expect(await hit()).toMatchObject({ isBlocked: true, timeToBlockExpire: 1 });
    });
  });

  describe('when several clients call', () => {
    it('should keep one window per key', async () => {
      await hit('a');
      await hit('a');

      expect((await hit('a')).isBlocked).toBe(true);
      expect((await hit('b')).isBlocked).toBe(false);
    });
  });

  describe('when the sweep runs', () => {
    it('should forget clients whose requests all left the window', async () => {
      await hit('old');
      now += 30_000;
      await hit('recent');
      now += 31_000;

      sut.sweep();

      expect(sut.size).toBe(1);
    });
  });
});
