import { BadRequestException } from '@nestjs/common';

import { DrainQueryPipe } from './drain-query.pipe';

/** Returns the messages of the 400 that the pipe raises for `query`, or fails when it accepts it. */
function rejectionOf(query: Record<string, unknown>): string[] {
  try {
    new DrainQueryPipe().transform(query);
  } catch (error) {
    if (error instanceof BadRequestException) {
      return (error.getResponse() as { message: string[] }).message;
    }
    throw error;
  }
  throw new Error(`DrainQueryPipe accepted ${JSON.stringify(query)}`);
}

describe(DrainQueryPipe.name, () => {
  const sut = new DrainQueryPipe();

  describe('when no parameter is given', () => {
    it('leaves every option to the defaults', () => {
      expect(sut.transform({}).toDrainOptions()).toEqual({
        queues: undefined,
        maxDurationMs: undefined,
        maxConcurrentQueues: undefined,
        maxJobsPerQueue: undefined,
      });
    });
  });

  describe('when every parameter is valid', () => {
    it('converts them to drain options', () => {
      const query = { queue: 'dsar-jobs', maxDurationMs: '600000', maxConcurrentQueues: '50', maxJobsPerQueue: '1' };

      expect(sut.transform(query).toDrainOptions()).toEqual({
        queues: ['dsar-jobs'],
        maxDurationMs: 600_000,
        maxConcurrentQueues: 50,
        maxJobsPerQueue: 1,
      });
    });
  });

  describe.each([
    ['maxDurationMs', ['', 'abc', '1e3', '1.5', '-1', '0', '600001', ' 5', '+5', '0x10']],
    ['maxConcurrentQueues', ['', '0', '51', '2.0', 'Infinity']],
    ['maxJobsPerQueue', ['', '0', '-3', '9007199254740993', 'NaN']],
  ])('%s', (name, values) => {
    it.each(values)('rejects %j with a message naming the parameter', (value) => {
      expect(rejectionOf({ [name]: value })).toEqual([
        expect.stringMatching(new RegExp(`^${name} must be a whole number`)),
      ]);
    });

    it('rejects a repeated key', () => {
      expect(rejectionOf({ [name]: ['5', '6'] })).toEqual([`${name} must be given once, as a single value.`]);
    });
  });

  describe('queue', () => {
    it.each(['', 'unknown-jobs', 'BATCH-JOBS', 'batch-jobs '])('rejects %j', (value) => {
      expect(rejectionOf({ queue: value })).toEqual([expect.stringMatching(/^queue must be one of: batch-jobs, /)]);
    });

    it('rejects a repeated key', () => {
      expect(rejectionOf({ queue: ['batch-jobs', 'seed-jobs'] })).toEqual([
        'queue must be given once, as a single value.',
      ]);
    });
  });

  describe('when a parameter is unknown', () => {
    it.each(['queue[]', 'maxdurationms', '__proto__', 'constructor'])(
      'rejects %j and lists the accepted ones',
      (name) => {
        const query = Object.defineProperty({}, name, { value: 'x', enumerable: true });

        expect(rejectionOf(query)).toEqual([
          `Unknown query parameter "${name}". Accepted parameters: queue, maxDurationMs, maxConcurrentQueues, maxJobsPerQueue.`,
        ]);
      },
    );

    it('shortens a long name in the message', () => {
      const [message] = rejectionOf({ ['x'.repeat(10_000)]: '1' });

      expect(message!.length).toBeLessThan(200);
    });
  });

  it('reports every problem at once', () => {
    expect(rejectionOf({ queue: 'nope', maxDurationMs: 'x', extra: '1' })).toHaveLength(3);
  });
});
