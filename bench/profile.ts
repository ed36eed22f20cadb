// Where the CPU goes under load: a V8 CPU profile of this project's servers (authorization server and
// MCP server, in this process as `npm start` runs them) recorded only while autocannon drives one
// scenario, summarized as the top functions and packages by self time. The .cpuprofile files are
// written for a closer look (Chrome DevTools, speedscope).
// Run: `node bench/profile.ts [refresh|tools-call ...]` (DATABASE_URL as for `npm run bench`).
// Knobs: PROFILE_REQUESTS (3000), PROFILE_DIR (bench/profiles), PROFILE_TOP (25).
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ScenarioName, sideBySideBench } from './side_by_side.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

const SCENARIOS: Record<string, ScenarioName> = { refresh: 'refresh_token grants/s', 'tools-call': 'MCP tools/call/s' };

/** Where a frame comes from: a package under node_modules, node itself, or this project's file. */
function origin(url: string): string {
  if (url === '') return '(native / V8)';
  if (url.startsWith('node:')) return 'node core';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + 14).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const project = url.indexOf('/src/');
  return project >= 0 ? `portcullis ${url.slice(project + 1)}` : url.replace(/^file:\/\//, '');
}

export function summarize(profile: CpuProfile, top: number): string {
  const totalSamples = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0);
  const byFunction = new Map<string, number>();
  const byOrigin = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench|test)\//, '$1/');
    const key = `${functionName || '(anonymous)'}  ${file}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + hits);
    byOrigin.set(origin(url), (byOrigin.get(origin(url)) ?? 0) + hits);
  }
  const percent = (hits: number) => `${((100 * hits) / totalSamples).toFixed(1).padStart(5)}%`;
  const list = (map: Map<string, number>, count: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([key, hits]) => `  ${percent(hits)}  ${key}`)
      .join('\n');
  const seconds = (profile.endTime - profile.startTime) / 1e6;
  return `${totalSamples} samples over ${seconds.toFixed(1)} s\nself time by origin:\n${list(byOrigin, 15)}\ntop functions by self time:\n${list(byFunction, top)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/postgres';
  const requests = Number(process.env.PROFILE_REQUESTS ?? 3000);
  const directory = process.env.PROFILE_DIR ?? fileURLToPath(new URL('./profiles', import.meta.url));
  const top = Number(process.env.PROFILE_TOP ?? 25);
  const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(SCENARIOS);
  mkdirSync(directory, { recursive: true });
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  for (const name of wanted) {
    const scenario = SCENARIOS[name];
    if (!scenario) throw new Error(`unknown scenario ${name} (one of ${Object.keys(SCENARIOS).join(', ')})`);
    await sideBySideBench({
      refreshes: requests,
      toolCalls: requests,
      rounds: 1,
      connections: 16,
      stacks: ['portcullis'],
      scenarios: [scenario],
      async around(label, run) {
        await session.post('Profiler.start');
        try {
          return await run();
        } finally {
          const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
          const file = join(directory, `${name}.cpuprofile`);
          writeFileSync(file, JSON.stringify(profile));
          process.stdout.write(`\n== ${label}: ${file}\n${summarize(profile, top)}`);
        }
      },
    });
  }
  session.disconnect();
}
