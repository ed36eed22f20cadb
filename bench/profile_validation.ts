// The cost of one in-process access-token validation (the shared-adapter verifier, as the MCP server
// runs it) in CPU time and where that time goes: 8 validations always in flight on PostgreSQL, a V8
// CPU profile of the measured span, summarized like bench/profile.ts.
// Run: `node bench/profile_validation.ts [validations]` (DATABASE_URL as for `npm run bench`).
import { Session } from 'node:inspector/promises';
import { providerTokenVerifier } from '../src/tokens/access_token_verifier.ts';
import { startMcpTestStack } from '../test/support/mcp_server.ts';
import { type CpuProfile, summarize } from './profile.ts';
import { validationTokens } from './validation_modes.ts';

process.env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/postgres';
const count = Number(process.argv[2] ?? 5000);
const stack = await startMcpTestStack({ kind: 'postgres' });
try {
  const resource = stack.mcpUrl;
  const { tokens } = await validationTokens(stack);
  const verifier = providerTokenVerifier({ provider: stack.provider, resource });
  let statements = 0;
  stack.db.on('query', () => void (statements += 1));
  const run = async (n: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < n) await verifier.verifyAccessToken(tokens[next++ % tokens.length]!);
      }),
    );
  };
  await run(Math.min(2000, count)); // warm
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  statements = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await run(count);
  const wall = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
  session.disconnect();
  process.stdout.write(
    `${count} validations: ${(wall / count).toFixed(3)} ms wall and ${((cpu.user + cpu.system) / 1000 / count).toFixed(3)} ms CPU (this process) each, ` +
      `${(statements / count).toFixed(2)} statements each\n${summarize(profile, 25)}`,
  );
} finally {
  await stack.close();
}
