import { Logger } from '@nestjs/common';
import type { MinimalJob } from 'bullmq';

import { jobBackoff } from './job-backoff';
import type { QueueJobHandler } from './job-handler.interface';

const job = { id: '9' } as MinimalJob;
const error = new Error('handler failed');

describe(jobBackoff.name, () => {
  let warn: jest.SpyInstance;

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    warn.mockRestore();
  });

  it("returns the delay of the handler's backoff method", async () => {
    const handler: QueueJobHandler = {
      handle: () => Promise.resolve(undefined),
      backoff: (attemptsMade, type) => (type === 'linear' ? attemptsMade * 1_000 : -1),
    };

    const strategy = jobBackoff('batch-jobs', () => handler);

    expect(await strategy(3, 'linear', error, job)).toBe(3_000);
    expect(warn).not.toHaveBeenCalled();
  });

  it('fails the job without a backoff method', async () => {
    const handler: QueueJobHandler = { handle: () => Promise.resolve(undefined) };

    const strategy = jobBackoff('batch-jobs', () => handler);

    expect(await strategy(1, 'jitter', error, job)).toBe(-1);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('Job 9 of batch-jobs names the backoff type "jitter"'));
  });

  it.each([
    ['a string', () => 'abc'],
    ['Infinity', () => Number.POSITIVE_INFINITY],
    ['NaN', () => Number.NaN],
    ['a negative delay', () => -5_000],
    [
      'a throw',
      () => {
        throw new Error('backoff exploded');
      },
    ],
    ['a rejection', () => Promise.reject(new Error('backoff exploded'))],
  ])('fails the job on %s', async (_, backoff) => {
    const handler = { handle: () => Promise.resolve(undefined), backoff } as unknown as QueueJobHandler;

    const strategy = jobBackoff('batch-jobs', () => handler);

    expect(await strategy(1, 'jitter', error, job)).toBe(-1);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('Job 9 of batch-jobs fails without a retry'));
  });
});
