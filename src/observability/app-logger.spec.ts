import { Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

import { AppLogger, enabledLevels } from './app-logger';
import { requestIdMiddleware } from './request-context';

/** Collects what `stream` receives while the test runs. */
function captureWrites(stream: NodeJS.WriteStream): string[] {
  const chunks: string[] = [];
  jest.spyOn(stream, 'write').mockImplementation((chunk: unknown) => {
    chunks.push(String(chunk));
    return true;
  });
  return chunks;
}

/** Runs `action` inside the request context that the middleware opens for `requestId`. */
function withinRequest(requestId: string, action: () => void): void {
  const request = { headers: { 'x-request-id': requestId } } as unknown as Request;
  const response = { setHeader: jest.fn() } as unknown as Response;
  requestIdMiddleware(request, response, action as NextFunction);
}

describe(AppLogger.name, () => {
  let stdout: string[];
  let stderr: string[];

  beforeEach(() => {
    stdout = captureWrites(process.stdout);
    stderr = captureWrites(process.stderr);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe('with the json format', () => {
    const sut = new AppLogger({ format: 'json', level: 'log' });

    it('writes one JSON object per line with the fields at the top level', () => {
      sut.log('Drain call processed 2 job(s).', { processed: 2, stoppedBy: 'idle' }, 'DrainService');

      expect(stdout).toHaveLength(1);
      expect(stdout[0]!.endsWith('\n')).toBe(true);
      expect(JSON.parse(stdout[0]!)).toMatchObject({
        level: 'log',
        context: 'DrainService',
        message: 'Drain call processed 2 job(s).',
        processed: 2,
        stoppedBy: 'idle',
      });
    });

    it('adds the id of the current request', () => {
      withinRequest('trace-1', () => sut.warn('Rejected.', 'HTTP'));

      expect(JSON.parse(stdout[0]!)).toMatchObject({ level: 'warn', requestId: 'trace-1' });
    });

    it('adds no request id outside a request', () => {
      sut.log('Started.', 'Bootstrap');

      expect(JSON.parse(stdout[0]!)).not.toHaveProperty('requestId');
    });

    it('masks credential fields that a caller passes by mistake', () => {
      sut.log('Headers.', { headers: { authorization: 'Bearer secret-1', 'x-cron-secret': 'secret-2' } }, 'Test');

      expect(stdout.join('')).not.toContain('secret-1');
      expect(stdout.join('')).not.toContain('secret-2');
    });

    it('writes errors to stderr', () => {
      sut.error('Failed.', undefined, 'Test');

      expect(stdout).toEqual([]);
      expect(JSON.parse(stderr[0]!)).toMatchObject({ level: 'error', message: 'Failed.' });
    });
  });

  describe('with the pretty format', () => {
    const sut = new AppLogger({ format: 'pretty', level: 'log' });

    it('puts the request id after the context', () => {
      withinRequest('trace-2', () => sut.log('Drained.', 'DrainService'));

      expect(stdout[0]).toContain('[DrainService] [request trace-2] Drained.');
    });
  });

  describe('with the stderr stream', () => {
    const sut = new AppLogger({ format: 'json', level: 'log' }, { stream: 'stderr' });

    it('keeps stdout free for the command result', () => {
      sut.log('Started.', 'Bootstrap');
      sut.warn('Careful.', 'Bootstrap');

      expect(stdout).toEqual([]);
      expect(stderr).toHaveLength(2);
    });
  });

  describe('with a level threshold', () => {
    it('drops the levels below it', () => {
      const sut = new AppLogger({ format: 'json', level: 'warn' });

      sut.log('Drained.', 'DrainService');
      sut.debug('Details.', 'DrainService');
      sut.warn('Rejected.', 'HTTP');

      expect(stdout.map((line) => (JSON.parse(line) as { level: string }).level)).toEqual(['warn']);
    });

    it('serves Nest loggers created by class name', () => {
      Logger.overrideLogger(new AppLogger({ format: 'json', level: 'log' }));

      new Logger('DrainService').log('Drained.', { processed: 1 });

      expect(JSON.parse(stdout[0]!)).toMatchObject({ context: 'DrainService', processed: 1 });
    });
  });
});

describe(enabledLevels.name, () => {
  it.each([
    ['fatal', ['fatal']],
    ['warn', ['fatal', 'error', 'warn']],
    ['log', ['fatal', 'error', 'warn', 'log']],
    ['verbose', ['fatal', 'error', 'warn', 'log', 'debug', 'verbose']],
  ] as const)('turns %s into the levels at least as severe', (threshold, levels) => {
    expect(enabledLevels(threshold)).toEqual(levels);
  });
});
