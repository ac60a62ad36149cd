import { Logger } from '@nestjs/common';

import { loadAppConfig } from '../config/load-app-config';
import { CronModule } from './cron.module';

const LONG_TOKEN = 'a-long-random-token-0123456789abcdef';

describe(CronModule.name, () => {
  let logs: jest.SpyInstance;
  let warnings: jest.SpyInstance;

  beforeEach(() => {
    logs = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  function startWith(env: Record<string, string>): string {
    new CronModule(
      loadAppConfig({ WORKER_INPROCESS: '0', REDIS_URL: 'redis://127.0.0.1:6379', ...env }),
    ).onModuleInit();
    return [...logs.mock.calls, ...warnings.mock.calls].map(([message]) => String(message)).join('\n');
  }

  describe('when the module starts', () => {
    it.each([
      ['DRAIN_QUEUES_TOKEN', { DRAIN_QUEUES_TOKEN: LONG_TOKEN, CRON_SECRET: 'other-secret' }],
      ['CRON_SECRET', { CRON_SECRET: LONG_TOKEN, CRON_TOKEN: 'other-token' }],
      ['CRON_TOKEN', { CRON_TOKEN: LONG_TOKEN }],
    ])('should log that the token comes from %s, never the token', (variable, env) => {
      const output = startWith(env);

      expect(logs).toHaveBeenCalledWith(`The drain endpoint accepts the token from ${variable}.`);
      expect(warnings).not.toHaveBeenCalled();
      expect(output).not.toContain(LONG_TOKEN);
      expect(output).not.toContain('other-');
    });

    it('should log that the previous token is accepted during a rotation', () => {
      const output = startWith({ DRAIN_QUEUES_TOKEN: LONG_TOKEN, DRAIN_QUEUES_TOKEN_PREVIOUS: 'previous-secret' });

      expect(output).toContain('DRAIN_QUEUES_TOKEN_PREVIOUS is set');
      expect(output).not.toContain('previous-secret');
    });

    it('should warn when no token is configured', () => {
      startWith({});

      expect(warnings).toHaveBeenCalledWith(expect.stringContaining('No drain token is configured'));
    });

    it('should warn when REDIS_URL is not set', () => {
      startWith({ DRAIN_QUEUES_TOKEN: LONG_TOKEN, REDIS_URL: '' });

      expect(warnings).toHaveBeenCalledTimes(1);
      expect(warnings).toHaveBeenCalledWith(expect.stringContaining('REDIS_URL is not set'));
    });

    it('should warn about a short token without printing it', () => {
      const output = startWith({ CRON_SECRET: 'short-secret' });

      expect(warnings).toHaveBeenCalledWith(expect.stringContaining('CRON_SECRET is shorter than 32 characters'));
      expect(output).not.toContain('short-secret');
    });
  });
});
