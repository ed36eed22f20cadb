// The cost of one access-token validation, on the embedded database and (with DATABASE_URL) on
// PostgreSQL: the verifier alone (provider models through the adapter: token, grant, client reads),
// and a whole MCP tools/call whoami over HTTP. Run: `node bench/validation.ts [iterations]`.
import { providerTokenVerifier } from '../src/tokens/access_token_verifier.ts';
import { connectClient } from '../test/support/oauth_flow.ts';
import { callTool, startMcpTestStack } from '../test/support/mcp_server.ts';
import { availableKinds } from '../test/support/database.ts';
import { createTestAccount, TEST_PASSWORD } from '../test/support/server.ts';

const iterations = Number(process.argv[2] ?? 2000);
const warmup = Math.min(200, iterations / 10);

function percentiles(samples: number[]): { p50: number; p90: number; p99: number; mean: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return {
    p50: round(at(0.5)),
    p90: round(at(0.9)),
    p99: round(at(0.99)),
    mean: round(sorted.reduce((sum, value) => sum + value, 0) / sorted.length),
  };
}

async function measure(run: () => Promise<unknown>): Promise<ReturnType<typeof percentiles>> {
  for (let i = 0; i < warmup; i += 1) await run();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i += 1) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  return percentiles(samples);
}

for (const kind of availableKinds()) {
  const stack = await startMcpTestStack({ kind });
  try {
    const account = { ...(await createTestAccount(stack.db)), password: TEST_PASSWORD };
    const { tokens } = await connectClient(stack.baseUrl, account, { resource: stack.mcpUrl });
    const verifier = providerTokenVerifier({ provider: stack.provider, resource: stack.mcpUrl });
    const verify = await measure(() => verifier.verifyAccessToken(tokens.access_token));
    const rejected = await measure(() => verifier.verifyAccessToken('unknown-token').catch(() => undefined));
    const http = await measure(async () => {
      const { status } = await callTool(stack.mcpUrl, tokens.access_token, 'whoami');
      if (status !== 200) throw new Error(`whoami answered ${status}`);
    });
    console.log(JSON.stringify({ database: kind, iterations, unit: 'ms', verifyValid: verify, verifyUnknown: rejected, httpWhoami: http }));
  } finally {
    await stack.close();
  }
}
