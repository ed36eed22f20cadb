// MCP access-token validation, three ways, side by side on one PostgreSQL schema: the shared-adapter
// lookup (MCP_TOKEN_VALIDATION=database: token, grant and client reads), RFC 7662 /introspect over
// HTTP (MCP_TOKEN_VALIDATION=introspection), and verifying a locally signed JWT with jose (the
// stateless lower bound, which cannot be revoked). Each mode: latency at a fixed 1,000 req/s (open
// loop, so a slow answer cannot slow the arrivals) and the most it sustains with 16 calls in flight.
import { generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { providerTokenVerifier } from '../src/tokens/access_token_verifier.ts';
import { introspectionTokenVerifier } from '../src/tokens/introspection_token_verifier.ts';
import { type McpTestStack, startMcpTestStack } from '../test/support/mcp_server.ts';
import { registerClient } from '../test/support/oauth_flow.ts';
import { createIntrospector, createTestAccount } from '../test/support/server.ts';
import { mintAccessToken, mintGrant } from '../test/support/tokens.ts';
import { percentile, type Row } from './stats.ts';

type Verify = (token: string) => Promise<unknown>;

interface FixedRate {
  achievedRate: number;
  p50: number;
  p99: number;
  max: number;
  failures: number;
}

/** Calls `verify` at `rate` per second for `seconds`, each call timed from its scheduled start. */
async function atFixedRate(verify: Verify, tokens: string[], rate: number, seconds: number): Promise<FixedRate> {
  const total = rate * seconds;
  const latencies: number[] = [];
  let failures = 0;
  const calls: Promise<void>[] = [];
  const started = performance.now();
  for (let i = 0; i < total; i += 1) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    else if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
    const begin = performance.now();
    calls.push(
      verify(tokens[i % tokens.length]!).then(
        () => void latencies.push(performance.now() - begin),
        () => void (failures += 1),
      ),
    );
  }
  await Promise.all(calls);
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    achievedRate: Math.round(latencies.length / elapsed),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: Number((latencies.at(-1) ?? 0).toFixed(2)),
    failures,
  };
}

/** Successful calls per second with `concurrency` calls always in flight, for `seconds` (a failed call, e.g. a timeout under load, counts for nothing). */
async function closedLoop(verify: Verify, tokens: string[], concurrency: number, seconds: number): Promise<number> {
  let done = 0;
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, lane) => {
      for (let i = lane; performance.now() < deadline; i += concurrency) {
        if (await verify(tokens[i % tokens.length]!).then(() => true, () => false)) done += 1;
      }
    }),
  );
  return Math.round(done / seconds);
}

/** Access tokens of one account and one registered client, each on its own grant, for the stack's MCP resource. */
export async function validationTokens(stack: McpTestStack, count = 50): Promise<{ tokens: string[]; accountId: string; clientId: string }> {
  const account = await createTestAccount(stack.db);
  const { client_id: clientId } = await registerClient(stack.baseUrl);
  const tokens: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const grantId = await mintGrant(stack.provider, { clientId, accountId: account.id, resource: stack.mcpUrl });
    tokens.push(await mintAccessToken(stack.provider, { clientId, accountId: account.id, grantId, aud: stack.mcpUrl }));
  }
  return { tokens, accountId: account.id, clientId };
}

export async function validationModesBench(options: { rate: number; seconds: number; rounds: number }): Promise<Row[]> {
  const stack = await startMcpTestStack({ kind: 'postgres' });
  try {
    const resource = stack.mcpUrl;
    const { tokens, accountId, clientId } = await validationTokens(stack);
    const resourceServer = await createIntrospector(stack);

    // The stateless lower bound: a JWT access token with the same claims, verified with a local key.
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwts = await Promise.all(
      tokens.map((_, i) =>
        new SignJWT({ scope: 'mcp:read mcp:write', client_id: clientId })
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
          .setIssuer(stack.baseUrl)
          .setSubject(accountId)
          .setAudience(resource)
          .setJti(`jwt-${i}`)
          .setIssuedAt()
          .setExpirationTime('10m')
          .sign(privateKey),
      ),
    );

    const database = providerTokenVerifier({ provider: stack.provider, resource });
    const introspection = introspectionTokenVerifier({
      issuer: stack.baseUrl,
      introspectionEndpoint: `${stack.baseUrl}/introspect`,
      clientId: resourceServer.client_id,
      clientSecret: resourceServer.client_secret!,
      resource,
    });
    // An /introspect call is a whole HTTP request through the authorization server in this same
    // process: far below 1,000/s here. Offered the full rate it queued for seconds, timed out, and the
    // requests it abandoned kept the server busy through the next measurements; so it is offered less.
    const INTROSPECTION_RATE = Math.min(options.rate, 100);
    const modes: { name: string; verify: Verify; tokens: string[]; rate?: number }[] = [
      { name: 'local JWT (jose, unrevocable)', verify: (token) => jwtVerify(token, publicKey, { audience: resource, issuer: stack.baseUrl }), tokens: jwts },
      { name: 'shared adapter (database)', verify: (token) => database.verifyAccessToken(token), tokens },
      { name: '/introspect over HTTP', verify: (token) => introspection.verifyAccessToken(token), tokens, rate: INTROSPECTION_RATE },
    ];

    const results = new Map<string, { fixed: FixedRate[]; throughput: number[] }>();
    for (const mode of modes) await closedLoop(mode.verify, mode.tokens, 4, 0.5); // warm up
    for (let round = 0; round < options.rounds; round += 1) {
      for (const mode of round % 2 === 0 ? modes : [...modes].reverse()) {
        const entry = results.get(mode.name) ?? { fixed: [], throughput: [] };
        entry.fixed.push(await atFixedRate(mode.verify, mode.tokens, mode.rate ?? options.rate, options.seconds));
        entry.throughput.push(await closedLoop(mode.verify, mode.tokens, 16, Math.min(2, options.seconds)));
        results.set(mode.name, entry);
        const last = entry.fixed.at(-1)!;
        process.stderr.write(`  validation ${mode.name}, round ${round + 1}: p99 ${last.p99} ms at ${last.achievedRate} req/s, max ${entry.throughput.at(-1)} req/s\n`);
      }
    }

    const middle = <T>(values: T[], key: (value: T) => number): T => [...values].sort((a, b) => key(a) - key(b))[Math.floor((values.length - 1) / 2)]!;
    const baseline = results.get(modes[0]!.name)!;
    const baselineThroughput = middle(baseline.throughput, (value) => value);
    return modes.map((mode) => {
      const entry = results.get(mode.name)!;
      const fixed = middle(entry.fixed, (value) => value.p99);
      const throughput = middle(entry.throughput, (value) => value);
      return {
        mode: mode.name,
        [`req/s offered`]: mode.rate ?? options.rate,
        'req/s achieved': fixed.achievedRate,
        p50Ms: fixed.p50,
        p99Ms: fixed.p99,
        maxMs: fixed.max,
        failed: fixed.failures,
        'max req/s (16 in flight)': throughput,
        'ratio (max req/s vs JWT)': Number((throughput / baselineThroughput).toFixed(3)),
      };
    });
  } finally {
    await stack.close();
  }
}
