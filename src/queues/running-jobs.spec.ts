/* eslint-disable @typescript-eslint/prefer-promise-reject-errors -- the handlers under test reject with non-Error values on purpose */
import { WaitingError, type Job } from 'bullmq';

import type { QueueJobHandler } from './job-handler.interface';
import { NON_ERROR_THROWN } from './queues.messages';
import { RunningJobs } from './running-jobs';

function fakeJob(): Job & { moveToWait: jest.Mock } {
  return { id: '7', moveToWait: jest.fn().mockResolvedValue(0) } as unknown as Job & { moveToWait: jest.Mock };
}

function handlerThat(behaviour: () => Promise<unknown>): QueueJobHandler {
  return { handle: behaviour };
}

describe(RunningJobs.name, () => {
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
});
