import { QUEUE_NAMES } from '../../src/queues/queue-names';
import { readResult } from './results';
import type { Summary } from './stats';

export const MINUTES_PER_MONTH = 30 * 24 * 60;
export const BUDGET = 500_000;
export const JOBS_PER_DAY = 1_000;
const JOBS_PER_MONTH = JOBS_PER_DAY * 30;
const CRON_INTERVALS_MINUTES = [1, 5, 15, 30];

/** Measured unit costs that the monthly figures are built from. */
export interface UnitCosts {
  /** Commands of an idle call on a Redis with a password: AUTH and the probe. */
  readonly idleCall: number;
  /** Extra commands for each queue in which a call finds work: its first fetch. */
  readonly busyQueue: number;
  /** Commands per job processed by a drain call: its completion, which also fetches the next job. */
  readonly drainJob: number;
  readonly addJob: number;
  readonly defaultIdlePerMinute: number;
  readonly tunedIdlePerMinute: number;
  /** Worker commands for a job that arrives while the worker is blocked. */
  readonly defaultJob: number;
  readonly tunedJob: number;
}

/** Commands a month of one mode, with idle queues and with the stated workload. */
export interface CostRow {
  readonly mode: string;
  readonly idle: number;
  readonly workload: number;
}

interface IdleCallData {
  readonly lanes: Record<'noPassword' | 'password', { drain: { recorded: Summary; rejected: Summary } }>;
}

interface PerJobData {
  readonly adding: { add: { commandsPerJob: number } };
  readonly batches: Record<'jobs1' | 'jobs100' | 'jobs1000', { commands: number; jobs: number }>;
}

interface AlwaysOnData {
  readonly idle: Record<'bullmqDefaults' | 'appTuned', { commandsPerMinute: number }>;
  readonly pickup: Record<'bullmqDefaults' | 'appTuned', { commandsPerJob: Summary }>;
}

/** Reads the unit costs from the results of bench:idle-call, bench:per-job and bench:always-on. */
export function unitCosts(): UnitCosts {
  const idleCall = readResult<IdleCallData>('idle-call').data.lanes;
  const perJob = readResult<PerJobData>('per-job').data;
  const alwaysOn = readResult<AlwaysOnData>('always-on').data;
  const { jobs1, jobs100, jobs1000 } = perJob.batches;
  const drainJob = (jobs1000.commands - jobs100.commands) / (jobs1000.jobs - jobs100.jobs);
  return {
    idleCall: idleCall.password.drain.recorded.median + idleCall.password.drain.rejected.median,
    busyQueue: jobs1.commands - drainJob - idleCall.noPassword.drain.recorded.median,
    drainJob,
    addJob: perJob.adding.add.commandsPerJob,
    defaultIdlePerMinute: alwaysOn.idle.bullmqDefaults.commandsPerMinute,
    tunedIdlePerMinute: alwaysOn.idle.appTuned.commandsPerMinute,
    defaultJob: alwaysOn.pickup.bullmqDefaults.commandsPerJob.median,
    tunedJob: alwaysOn.pickup.appTuned.commandsPerJob.median,
  };
}

/**
 * Computes the commands a month per mode, idle and with the workload: jobs
 * that arrive one at a time at random moments, spread evenly over the
 * queues. A cron call then finds a Poisson-distributed number of jobs in each
 * queue and pays the first fetch only for the queues where it finds some.
 */
export function monthlyRows(units: UnitCosts): CostRow[] {
  const addCost = JOBS_PER_MONTH * units.addJob;
  const cronRows = CRON_INTERVALS_MINUTES.map((interval) => {
    const calls = MINUTES_PER_MONTH / interval;
    const jobsPerQueuePerCall = JOBS_PER_MONTH / calls / QUEUE_NAMES.length;
    const busyQueuesPerCall = QUEUE_NAMES.length * (1 - Math.exp(-jobsPerQueuePerCall));
    const idle = calls * units.idleCall;
    const workload =
      calls * (units.idleCall + busyQueuesPerCall * units.busyQueue) + JOBS_PER_MONTH * units.drainJob + addCost;
    return { mode: `cron every ${interval} min`, idle, workload };
  });
  const alwaysOnRow = (mode: string, perMinute: number, perJob: number): CostRow => ({
    mode,
    idle: MINUTES_PER_MONTH * perMinute,
    workload: MINUTES_PER_MONTH * perMinute + JOBS_PER_MONTH * perJob + addCost,
  });
  return [
    ...cronRows,
    alwaysOnRow('always-on, BullMQ defaults', units.defaultIdlePerMinute, units.defaultJob),
    alwaysOnRow('always-on, tuned defaults', units.tunedIdlePerMinute, units.tunedJob),
  ];
}
