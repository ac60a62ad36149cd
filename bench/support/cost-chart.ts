/** A row of the monthly cost chart: commands a month while idle and with the workload. */
export interface ChartRow {
  readonly mode: string;
  readonly idle: number;
  readonly workload: number;
}

const WIDTH = 760;
const LABEL_WIDTH = 210;
const PLOT_WIDTH = WIDTH - LABEL_WIDTH - 30;
const ROW_HEIGHT = 38;
const TOP = 56;
const MIN_VALUE = 1_000;
const MAX_VALUE = 10_000_000;
const COLORS = { idle: '#4c78a8', workload: '#f58518', budget: '#d62728', grid: '#dddddd', text: '#222222' };

/**
 * Renders horizontal bars on a logarithmic axis from 1,000 to 10 million
 * commands a month, two per mode, with the budget as a dashed line. The SVG
 * needs no script or font beyond the reader's sans-serif.
 */
export function renderCostChart(rows: readonly ChartRow[], budget: number): string {
  const height = TOP + rows.length * ROW_HEIGHT + 50;
  const x = (value: number) =>
    LABEL_WIDTH +
    (PLOT_WIDTH * (Math.log10(clamp(value)) - Math.log10(MIN_VALUE))) / (Math.log10(MAX_VALUE) - Math.log10(MIN_VALUE));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12" fill="${COLORS.text}">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${LABEL_WIDTH}" y="20" font-size="14" font-weight="bold">Redis commands a month (log scale)</text>`,
    legend(LABEL_WIDTH, 38),
  ];
  for (const tick of [1_000, 10_000, 100_000, 1_000_000, 10_000_000]) {
    const tickX = x(tick);
    parts.push(
      `<line x1="${tickX}" y1="${TOP - 6}" x2="${tickX}" y2="${TOP + rows.length * ROW_HEIGHT}" stroke="${COLORS.grid}"/>`,
      `<text x="${tickX}" y="${TOP + rows.length * ROW_HEIGHT + 16}" text-anchor="middle">${shortNumber(tick)}</text>`,
    );
  }
  rows.forEach((row, index) => {
    const y = TOP + index * ROW_HEIGHT;
    parts.push(
      `<text x="${LABEL_WIDTH - 8}" y="${y + 20}" text-anchor="end">${escapeXml(row.mode)}</text>`,
      bar(x, y + 4, row.idle, COLORS.idle),
      bar(x, y + 18, row.workload, COLORS.workload),
    );
  });
  const budgetX = x(budget);
  parts.push(
    `<line x1="${budgetX}" y1="${TOP - 10}" x2="${budgetX}" y2="${TOP + rows.length * ROW_HEIGHT}" stroke="${COLORS.budget}" stroke-width="2" stroke-dasharray="6 4"/>`,
    `<text x="${budgetX}" y="${TOP + rows.length * ROW_HEIGHT + 34}" text-anchor="middle" fill="${COLORS.budget}">budget ${shortNumber(budget)}</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}

function bar(x: (value: number) => number, y: number, value: number, color: string): string {
  const start = x(MIN_VALUE);
  const width = Math.max(1, x(value) - start);
  return [
    `<rect x="${start}" y="${y}" width="${width.toFixed(1)}" height="12" fill="${color}"/>`,
    `<text x="${(start + width + 4).toFixed(1)}" y="${y + 10}" font-size="11">${shortNumber(value)}</text>`,
  ].join('\n');
}

function legend(x: number, y: number): string {
  return [
    `<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${COLORS.idle}"/>`,
    `<text x="${x + 18}" y="${y}">idle queues</text>`,
    `<rect x="${x + 110}" y="${y - 10}" width="12" height="12" fill="${COLORS.workload}"/>`,
    `<text x="${x + 128}" y="${y}">1,000 jobs a day</text>`,
  ].join('\n');
}

function clamp(value: number): number {
  return Math.min(MAX_VALUE, Math.max(MIN_VALUE, value));
}

function shortNumber(value: number): string {
  if (value >= 1_000_000) {
    return `${Number((value / 1_000_000).toPrecision(3))}M`;
  }
  if (value >= 1_000) {
    return `${Number((value / 1_000).toPrecision(3))}k`;
  }
  return String(Math.round(value));
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
