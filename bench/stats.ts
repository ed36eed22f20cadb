// Small helpers shared by the benchmark scenarios: percentiles and a printed table.
export type Row = Record<string, string | number>;

/** The p-th percentile (nearest rank) of an ascending array, in the array's unit, 2 decimals. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Number(sorted[rank]!.toFixed(2));
}

export function printTable(title: string, rows: Row[]): void {
  process.stdout.write(`\n${title}\n`);
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => String(row[column]).length)));
  const line = (cells: string[]) => cells.map((cell, index) => cell.padStart(widths[index]!)).join('  ');
  process.stdout.write(`${line(columns)}\n${rows.map((row) => line(columns.map((column) => String(row[column])))).join('\n')}\n`);
}

/**
 * The configuration every scenario's server runs with: a test issuer, no in-process janitor, and no
 * per-address request limits (all load comes from 127.0.0.1; the limits are not what is measured).
 */
export const BENCH_ENV: Record<string, string> = {
  NODE_ENV: 'test',
  ISSUER: 'http://127.0.0.1:1',
  JANITOR_INTERVAL: '0',
  RATE_LIMIT_TOKEN: '0',
  RATE_LIMIT_REVOKE: '0',
  RATE_LIMIT_REGISTRATION: '0',
  RATE_LIMIT_ADMIN: '0',
  RATE_LIMIT_AUTHORIZE: '0',
};
