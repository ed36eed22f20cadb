// CPU time a load cost, per request: this process (where the bench's servers run) and every
// PostgreSQL process on the machine (the local server's backends). CPU time, unlike throughput, does
// not drop when a shared or virtual machine lends its cores elsewhere, so before/after comparisons of
// it hold across runs. The load generator runs in a child process and is not counted.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // Linux USER_HZ

/** CPU milliseconds of every `postgres` process (0 where /proc cannot be read), and which are backends. */
function postgresCpuMs(): Map<string, { ms: number; backend: boolean }> {
  const used = new Map<string, { ms: number; backend: boolean }>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return used;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (name !== 'postgres') continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime are fields 14 and 15 of /proc/<pid>/stat; fields[0] here is field 3.
      // A backend's title names its client ("postgres: user db 127.0.0.1(port) idle"); the rest are
      // the server's own processes (checkpointer, WAL writer, autovacuum).
      const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      used.set(pid, { ms: ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND, backend: /\(\d+\)/.test(title) });
    } catch {
      // The process ended meanwhile.
    }
  }
  return used;
}

export interface CpuCost {
  /** This process's CPU milliseconds per request. */
  serverMs: number;
  /** PostgreSQL's CPU milliseconds per request: all its processes. */
  postgresMs: number;
  /** Of which the backends serving connections (the rest: checkpointer, WAL writer, autovacuum). */
  backendsMs: number;
}

export async function measureCpu<T extends { requests: number }>(run: () => Promise<T>): Promise<T & { cpu: CpuCost }> {
  const postgresBefore = postgresCpuMs();
  const before = process.cpuUsage();
  const result = await run();
  const own = process.cpuUsage(before);
  let postgres = 0;
  let backends = 0;
  for (const [pid, { ms, backend }] of postgresCpuMs()) {
    const spent = ms - (postgresBefore.get(pid)?.ms ?? 0);
    postgres += spent;
    if (backend) backends += spent;
  }
  const requests = Math.max(1, result.requests);
  const round = (value: number) => Number(value.toFixed(3));
  return { ...result, cpu: { serverMs: round((own.user + own.system) / 1000 / requests), postgresMs: round(postgres / requests), backendsMs: round(backends / requests) } };
}
