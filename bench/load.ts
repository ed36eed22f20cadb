// Runs an autocannon job (bench/load_child.ts) in a child process and waits for its result.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadJob, LoadResult } from './load_child.ts';

export type { LoadJob, LoadResult };

export async function runLoad(job: LoadJob): Promise<LoadResult> {
  const directory = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));
  const file = join(directory, 'job.json');
  writeFileSync(file, JSON.stringify(job));
  try {
    const child = spawn(process.execPath, [fileURLToPath(new URL('./load_child.ts', import.meta.url)), file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    const [code] = (await once(child, 'exit')) as [number];
    if (code !== 0) throw new Error(`load generator exited with ${code}`);
    return JSON.parse(stdout) as LoadResult;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
