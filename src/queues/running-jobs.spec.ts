/* eslint-disable @typescript-eslint/prefer-promise-reject-errors -- the handlers under test reject with non-Error values on purpose */
import { Logger } from '@nestjs/common';
import { WaitingError, type Job } from 'bullmq';

import type { QueueJobHandler } from './job-handler.interface';
import { NON_ERROR_THROWN } from './queues.messages';
import { RunningJobs } from './running-jobs';

function fakeJob(): Job & { moveToWait: jest.Mock } {
  const job = { id: '7', attemptsMade: 1, opts: { attempts: 3 }, moveToWait: jest.fn().mockResolvedValue(0) };
  return job as unknown as Job & { moveToWait: jest.Mock };
}

function handlerThat(behaviour: () => Promise<unknown>): QueueJobHandler {
  return { handle: behaviour };
}

describe(RunningJobs.name, () => {
  let warn: jest.SpyInstance;

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    warn.mockRestore();
  });

  describe('when a handler throws a non-Error value', () => {
    it.each<[string, () => Promise<unknown>, string]>([
      ['a string', () => Promise.reject('plain'), "'plain'"],
      ['undefined', () => Promise.reject(undefined), 'undefined'],
      ['nothing', () => Promise.reject(), 'undefined'],
      ['an object', () => Promise.reject({ code: 'E_X' }), "{ code: 'E_X' }"],
    ])('rejects with an Error that shows %s', async (_, behaviour, preview) => {
      const sut = new RunningJobs('batch-jobs', handlerThat(behaviour));

      const outcome = sut.process(fakeJob(), 'token');

      await expect(outcome).rejects.toHaveProperty('message', NON_ERROR_THROWN(preview));
      expect(sut.size).toBe(0);
    });

    it('puts the job back instead once interrupted', async () => {
      const job = fakeJob();
      const sut = new RunningJobs(
        'batch-jobs',
        handlerThat(() => Promise.reject(undefined)),
      );
      sut.interrupt();

      await expect(sut.process(job, 'token')).rejects.toBeInstanceOf(WaitingError);
      expect(job.moveToWait).toHaveBeenCalledWith('token');
    });
  });

  it('rethrows an Error unchanged', async () => {
    const error = new Error('handler failed');
    const sut = new RunningJobs(
      'batch-jobs',
      handlerThat(() => Promise.reject(error)),
    );

    await expect(sut.process(fakeJob(), 'token')).rejects.toBe(error);
  });

  it('logs a failed attempt without the job data', async () => {
    const job = Object.assign(fakeJob(), { data: { email: 'person@example.com' } });
    const sut = new RunningJobs(
      'batch-jobs',
      handlerThat(() => Promise.reject(new Error('handler failed'))),
    );

    await expect(sut.process(job, 'token')).rejects.toThrow('handler failed');

    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith('Job 7 of batch-jobs failed at attempt 2 of 3: handler failed');
    expect(JSON.stringify(warn.mock.calls)).not.toContain('person@example.com');
  });

  it('logs nothing for a job put back after an interruption', async () => {
    const sut = new RunningJobs(
      'batch-jobs',
      handlerThat(() => Promise.reject(new Error('aborted'))),
    );
    sut.interrupt();

    await expect(sut.process(fakeJob(), 'token')).rejects.toBeInstanceOf(WaitingError);

    expect(warn).not.toHaveBeenCalled();
  });
});
