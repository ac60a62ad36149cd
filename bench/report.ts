/**
 * Fills the tables of docs/BENCHMARKS.md from bench/results/*.json, computes
 * the monthly cost table from the measured unit costs, and draws its chart
 * to docs/img/monthly-cost.svg. It runs no benchmark itself.
 *
 * Usage: npm run bench:report
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { renderCostChart } from './support/cost-chart';
import { monthlyRows, unitCosts, BUDGET, JOBS_PER_DAY, type CostRow, type UnitCosts } from './support/cost-model';
import { readResult, writeFormatted, writeResult } from './support/results';
import type { Summary } from './support/stats';

/**
 * Slack on the stall bound: each check starts a full interval after the
 * previous one finished, and the pick-up takes a round trip.
 */
const STALL_BOUND_TOLERANCE_MS = 1_000;
const DOCS_PATH = join(process.cwd(), 'docs', 'BENCHMARKS.md');
const CHART_PATH = join(process.cwd(), 'docs', 'img', 'monthly-cost.svg');

interface CallCost {
  readonly recorded: Summary;
  readonly rejected: Summary;
  readonly firstCallCommands: string[];
}

interface IdleCallData {
  readonly lanes: Record<string, { drain: CallCost; naiveProbe: CallCost; ratio: number }>;
}

interface Cost {
  readonly jobs: number;
  readonly commands: number;
  readonly commandsPerJob: number;
}

interface PerJobData {
  readonly drain: Record<string, Cost>;
  readonly worker: Record<string, Cost>;
  readonly drainToWorkerRatio: Record<string, number>;
  readonly batches: Record<string, Cost>;
}

interface ContenderReport {
  readonly jobsPerSecond: Summary;
  readonly processingJobsPerSecond: Summary;
  readonly firstJobMs: Summary;
}

interface ThroughputData {
  readonly rounds: number;
  readonly cases: Record<
    string,
    {
      jobs: number;
      concurrency: number;
      workMs: number;
      drain: ContenderReport;
      worker: ContenderReport;
      throughputRatios: Summary;
      processingThroughputRatios: Summary;
    }
  >;
}

interface LatencyData {
  readonly requests: number;
  readonly trivialEndpointMs: Summary;
  readonly idleDrainMs: Summary;
  readonly medianRatio: number;
  readonly p95Ratio: number;
}

interface AlwaysOnData {
  readonly windowMinutes: number;
  readonly idle: Record<
    string,
    { description: string; startupCommands: number; steadyCommands: number; commandsPerMinute: number }
  >;
  readonly pickup: Record<string, { latencyMs: Summary; commandsPerJob: Summary; lastJobCommands: string[] }>;
  readonly stalledRecovery: { boundMs: number; crashAfterCheckMs: number; recoveredAfterMs: number };
}

const LANE_NAMES: Record<string, string> = {
  noPassword: 'no password',
  password: 'password (`AUTH`)',
  tlsWithPassword: 'TLS and password (`rediss://`)',
  bullmqDefaults: 'plain BullMQ workers, default options',
  appTuned: 'application, tuned defaults',
  appBullmqTiming: "application, BullMQ's timing (5 s, 30 s)",
  appTunedWithDelayedJob: 'application, tuned, one delayed job pending',
};

async function main(): Promise<void> {
  const idleCall = readResult<IdleCallData>('idle-call').data;
  const perJob = readResult<PerJobData>('per-job').data;
  const throughput = readResult<ThroughputData>('throughput').data;
  const latency = readResult<LatencyData>('latency').data;
  const alwaysOn = readResult<AlwaysOnData>('always-on').data;
  const units = unitCosts();
  const rows = monthlyRows(units);
  await writeResult('report', { budget: BUDGET, jobsPerDay: JOBS_PER_DAY, units, rows });

  let docs = readFileSync(DOCS_PATH, 'utf8');
  const sections: Record<string, string> = {
    summary: summaryTable(idleCall, perJob, throughput, alwaysOn),
    'idle-call': idleCallTable(idleCall),
    'per-job': perJobTables(perJob),
    throughput: throughputTable(throughput),
    latency: latencyTable(latency),
    'always-on': alwaysOnTables(alwaysOn),
    stalled: stalledTable(alwaysOn),
    'unit-costs': unitCostTable(units),
    'cost-table': costTable(rows),
  };
  for (const [name, table] of Object.entries(sections)) {
    docs = replaceSection(docs, name, table);
  }
  await writeFormatted(DOCS_PATH, docs);
  writeFileSync(CHART_PATH, renderCostChart(rows, BUDGET));
  console.log(`Updated ${DOCS_PATH} and ${CHART_PATH}`);
}

function replaceSection(docs: string, name: string, content: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const startIndex = docs.indexOf(start);
  const endIndex = docs.indexOf(end);
  if (startIndex < 0 || endIndex < startIndex) {
    throw new Error(`docs/BENCHMARKS.md has no "${start}" … "${end}" section to fill.`);
  }
  return `${docs.slice(0, startIndex + start.length)}\n\n${content}\n\n${docs.slice(endIndex)}`;
}

/** Renders a Markdown table. `rightAligned` picks the right-aligned columns, by default all but the first. */
function table(
  header: readonly string[],
  rows: readonly (readonly (string | number)[])[],
  rightAligned: (column: number) => boolean = (column) => column > 0,
): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, column) => (rightAligned(column) ? '---:' : '---')).join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

function number(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function summaryTable(
  idleCall: IdleCallData,
  perJob: PerJobData,
  throughput: ThroughputData,
  alwaysOn: AlwaysOnData,
): string {
  const idleWorst = Math.max(
    ...Object.values(idleCall.lanes).map((lane) => lane.drain.recorded.max + lane.drain.rejected.max),
  );
  const perJobWorst = Math.max(perJob.drain.concurrency1!.commandsPerJob, perJob.drain.concurrency10!.commandsPerJob);
  const ratioWorst = Math.min(...Object.values(throughput.cases).map((entry) => entry.throughputRatios.median));
  const tuned = alwaysOn.idle.appTuned!;
  const defaults = alwaysOn.idle.bullmqDefaults!;
  const pickup = alwaysOn.pickup.appTuned!.latencyMs;
  const stalled = alwaysOn.stalledRecovery;
  const met = (ok: boolean) => (ok ? 'met' : '**missed**');
  return table(
    ['target', 'measured', 'result'],
    [
      [
        'idle call over five empty queues: at most 3 commands, handshake included',
        `${idleWorst} at most (1 without a password, 2 with one); naive BullMQ probe: ${idleCall.lanes.noPassword!.naiveProbe.recorded.median} + ${idleCall.lanes.noPassword!.naiveProbe.rejected.median} rejected`,
        met(idleWorst <= 3),
      ],
      [
        'at most 1.2 commands per processed job beyond adding it, over 1,000 jobs',
        `${number(perJob.drain.concurrency1!.commandsPerJob, 3)} (concurrency 1), ${number(perJob.drain.concurrency10!.commandsPerJob, 3)} (concurrency 10)`,
        met(perJobWorst <= 1.2),
      ],
      [
        'drain throughput at least 0.9 of a plain `Worker` at concurrency 1 and 10',
        `lowest median ratio ${number(ratioWorst, 2)} over ${Object.keys(throughput.cases).length} cases`,
        met(ratioWorst >= 0.9),
      ],
      [
        'rejected requests and an idle API in cron mode send no command',
        '0, asserted with `MONITOR` by `test/cron-mode-idle.e2e-spec.ts`',
        'met',
      ],
      [
        'five always-on workers on empty queues: at most 6 commands a minute',
        `${number(tuned.commandsPerMinute, 1)} tuned, against ${number(defaults.commandsPerMinute, 1)} with BullMQ's defaults`,
        met(tuned.commandsPerMinute <= 6),
      ],
      [
        'pick-up of a new job by a blocked tuned worker: under 100 ms',
        `median ${number(pickup.median)} ms, max ${number(pickup.max)} ms`,
        met(pickup.max < 100),
      ],
      [
        'stalled job recovered within the stated bound while another worker runs (tuned: 240 s plus milliseconds)',
        `${number(stalled.recoveredAfterMs / 1_000, 2)} s in the worst case`,
        met(stalled.recoveredAfterMs <= stalled.boundMs + STALL_BOUND_TOLERANCE_MS),
      ],
    ],
    () => false,
  );
}

function idleCallTable(data: IdleCallData): string {
  const rows = Object.entries(data.lanes).map(([lane, report]) => [
    LANE_NAMES[lane] ?? lane,
    `${report.drain.recorded.median} (${report.drain.firstCallCommands.join(', ')})`,
    report.drain.rejected.median,
    report.naiveProbe.recorded.median,
    report.naiveProbe.rejected.median,
    `${number(report.ratio, 1)} ×`,
  ]);
  return (
    table(
      [
        'Redis',
        'drain: commands (which)',
        'drain: rejected',
        'naive probe: commands',
        'naive probe: rejected',
        'naive / drain',
      ],
      rows,
    ) + '\n\nEvery one of the 20 calls per cell sent the same number of commands (minimum = maximum).'
  );
}

function perJobTables(data: PerJobData): string {
  const labels: Record<string, string> = {
    concurrency1: '1 queue, concurrency 1',
    concurrency10: '1 queue, concurrency 10',
    fiveQueues: '5 queues of 200 jobs, concurrency 1, 5 at a time',
  };
  const comparison = table(
    [
      '1,000 jobs',
      'drain: commands',
      'drain: per job',
      'plain `Worker`: commands',
      '`Worker`: per job',
      'drain / `Worker`',
    ],
    Object.entries(data.drain).map(([key, drain]) => {
      const worker = data.worker[key];
      return [
        labels[key] ?? key,
        number(drain.commands),
        number(drain.commandsPerJob, 3),
        worker === undefined ? '–' : number(worker.commands),
        worker === undefined ? '–' : number(worker.commandsPerJob, 3),
        data.drainToWorkerRatio[key] === undefined ? '–' : number(data.drainToWorkerRatio[key], 3),
      ];
    }),
  );
  const batches = table(
    ['jobs found by one call (one queue, no password)', 'commands of the call', 'per job'],
    Object.values(data.batches).map((batch) => [
      number(batch.jobs),
      number(batch.commands),
      number(batch.commandsPerJob, 3),
    ]),
  );
  return `${comparison}\n\nThe fixed part of a call matters only for small batches:\n\n${batches}`;
}

function throughputTable(data: ThroughputData): string {
  const rows = Object.values(data.cases).map((entry) => [
    `${number(entry.jobs)} jobs, ${entry.workMs} ms of work, concurrency ${entry.concurrency}`,
    number(entry.drain.jobsPerSecond.median),
    number(entry.worker.jobsPerSecond.median),
    `${number(entry.throughputRatios.median, 2)} (${number(entry.throughputRatios.min, 2)}–${number(entry.throughputRatios.max, 2)})`,
    number(entry.processingThroughputRatios.median, 2),
    `${number(entry.drain.firstJobMs.median)} / ${number(entry.worker.firstJobMs.median)}`,
  ]);
  return (
    table(
      [
        'case',
        'drain: jobs/s',
        '`Worker`: jobs/s',
        'ratio',
        'ratio, processing only',
        'first job, ms: drain / `Worker`',
      ],
      rows,
    ) +
    `\n\nMedians of ${data.rounds} rounds per case. A ratio compares the drain and the \`Worker\` of the same round.`
  );
}

function latencyTable(data: LatencyData): string {
  return (
    table(
      ['endpoint', 'median, ms', 'p95, ms', 'max, ms'],
      [
        [
          '`GET /api/v1/health` (liveness)',
          number(data.trivialEndpointMs.median, 2),
          number(data.trivialEndpointMs.p95, 2),
          number(data.trivialEndpointMs.max, 1),
        ],
        [
          'idle drain call',
          number(data.idleDrainMs.median, 2),
          number(data.idleDrainMs.p95, 2),
          number(data.idleDrainMs.max, 1),
        ],
        ['ratio', `${number(data.medianRatio, 2)} ×`, `${number(data.p95Ratio, 2)} ×`, ''],
      ],
    ) + `\n\n${number(data.requests)} requests to each, after 30 of each to warm up.`
  );
}

function alwaysOnTables(data: AlwaysOnData): string {
  const idle = table(
    ['five workers', 'start-up (first 10 s)', `next ${data.windowMinutes} min`, 'per minute', 'per month (30 days)'],
    Object.entries(data.idle).map(([lane, report]) => [
      LANE_NAMES[lane] ?? lane,
      number(report.startupCommands),
      number(report.steadyCommands),
      number(report.commandsPerMinute, 1),
      number(report.commandsPerMinute * 43_200),
    ]),
  );
  const pickup = table(
    ['new job added to a blocked worker', 'pick-up median, ms', 'max, ms', 'worker commands per isolated job'],
    Object.entries(data.pickup).map(([lane, report]) => [
      LANE_NAMES[lane] ?? lane,
      number(report.latencyMs.median, 1),
      number(report.latencyMs.max, 1),
      number(report.commandsPerJob.median),
    ]),
  );
  const isolatedJob = data.pickup.appTuned?.lastJobCommands.join(', ') ?? '';
  return `${idle}\n\n${pickup}\n\nThe commands of the last isolated job of the tuned application: ${isolatedJob}.`;
}

function stalledTable(data: AlwaysOnData): string {
  const stalled = data.stalledRecovery;
  return table(
    ['bound', 'crash after the check', 'recovered after the crash'],
    [
      [
        `${number(stalled.boundMs / 1_000)} s`,
        `${number(stalled.crashAfterCheckMs)} ms`,
        `${number(stalled.recoveredAfterMs / 1_000, 2)} s`,
      ],
    ],
  );
}

function unitCostTable(units: UnitCosts): string {
  return table(
    ['unit cost', 'commands', 'from'],
    [
      ['idle call on a Redis with a password (`AUTH` and the probe)', number(units.idleCall, 1), '`bench:idle-call`'],
      [
        'extra for each queue in which a call finds jobs (its first fetch)',
        number(units.busyQueue, 1),
        '`bench:per-job`',
      ],
      ['each job processed by a drain call (its completion)', number(units.drainJob, 2), '`bench:per-job`'],
      ['adding a job, in every mode', number(units.addJob, 1), '`bench:per-job`'],
      [
        'five always-on workers, BullMQ defaults, per minute',
        number(units.defaultIdlePerMinute, 1),
        '`bench:always-on`',
      ],
      ['five always-on workers, tuned, per minute', number(units.tunedIdlePerMinute, 1), '`bench:always-on`'],
      [
        'a job arriving at a blocked always-on worker, BullMQ defaults',
        number(units.defaultJob, 1),
        '`bench:always-on`',
      ],
      ['a job arriving at a blocked always-on worker, tuned', number(units.tunedJob, 1), '`bench:always-on`'],
    ],
    (column) => column === 1,
  );
}

function costTable(rows: readonly CostRow[]): string {
  const share = (value: number) => `${((value / BUDGET) * 100).toFixed(value < BUDGET / 100 ? 2 : 1)} %`;
  return table(
    [
      'mode',
      'idle: commands a month',
      'of the budget',
      `${number(JOBS_PER_DAY)} jobs a day: commands a month`,
      'of the budget',
    ],
    rows.map((row) => [row.mode, number(row.idle), share(row.idle), number(row.workload), share(row.workload)]),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
