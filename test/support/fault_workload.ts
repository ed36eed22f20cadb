// A steady mix of real traffic against a ProcessStack while a fault is injected: token refreshes,
// /revoke of fresh tokens, MCP tool calls, an account page, and /readyz of both processes. Each
// answer is kept with when it was sent and answered, so a suite can judge the answers given while the
// database was gone, time the recovery, and check that every acknowledged revocation held.
import { setTimeout as sleep } from 'node:timers/promises';
import { callTool } from './mcp_server.ts';
import type { AccountBrowser, MintedGrant, Minter, ProcessStack } from './process_stack.ts';

export type Operation = 'refresh' | 'revoke' | 'mcp' | 'account' | 'readyz-as' | 'readyz-mcp';

export const OPERATIONS: Operation[] = ['refresh', 'revoke', 'mcp', 'account', 'readyz-as', 'readyz-mcp'];

export interface Observation {
  op: Operation;
  status: number;
  /** performance.now() when sent and when the answer was complete. */
  sentAt: number;
  answeredAt: number;
  body: string;
}

export interface Workload {
  observations: Observation[];
  /** Access tokens whose /revoke answered 200, with when. */
  acknowledgedRevocations: { accessToken: string; at: number }[];
  /** Refresh chains restarted because the previous one was refused (400). */
  refreshChainsRestarted: number;
  stop(): Promise<void>;
}

export interface WorkloadInputs {
  stack: ProcessStack;
  minter: Minter;
  browser: AccountBrowser;
  /** A grant the MCP worker uses throughout (never revoked). */
  steady: MintedGrant;
  /** Grants the revoke worker revokes one by one; the refresh worker takes its chains from the end. */
  revocable: MintedGrant[];
}

export function startWorkload({ stack, minter, browser, steady, revocable }: WorkloadInputs): Workload {
  const observations: Observation[] = [];
  const acknowledgedRevocations: { accessToken: string; at: number }[] = [];
  let running = true;
  let refreshChainsRestarted = 0;
  let refreshToken = revocable.pop()!.refreshToken;
  const clientId = minter.client.client_id;
  const as = () => stack.authorization.origin;
  const form = (path: string, fields: Record<string, string>) =>
    fetch(`${as()}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });

  const operations: Record<Operation, () => Promise<{ status: number; body: string } | undefined>> = {
    refresh: async () => {
      const response = await form('/token', { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId });
      const body = await response.text();
      if (response.status === 200) refreshToken = (JSON.parse(body) as { refresh_token: string }).refresh_token;
      // A rotation whose answer was lost (committed, then the connection died) ends that chain; a
      // fresh one keeps measuring availability.
      if (response.status === 400 && revocable.length > 0) {
        refreshToken = revocable.pop()!.refreshToken;
        refreshChainsRestarted += 1;
      }
      return { status: response.status, body };
    },
    revoke: async () => {
      const grant = revocable.shift();
      if (!grant) return undefined;
      const response = await form('/revoke', { token: grant.accessToken, client_id: clientId });
      if (response.status === 200) acknowledgedRevocations.push({ accessToken: grant.accessToken, at: performance.now() });
      return { status: response.status, body: await response.text() };
    },
    mcp: async () => {
      const call = await callTool(stack.mcpUrl, steady.accessToken, 'whoami');
      return { status: call.status, body: typeof call.body === 'string' ? call.body : JSON.stringify(call.body) };
    },
    account: async () => {
      const response = await browser.get('/account');
      return { status: response.status, body: await response.text() };
    },
    'readyz-as': async () => {
      const response = await fetch(`${as()}/readyz`);
      return { status: response.status, body: await response.text() };
    },
    'readyz-mcp': async () => {
      const response = await fetch(`${new URL(stack.mcpUrl).origin}/readyz`);
      return { status: response.status, body: await response.text() };
    },
  };

  const workers = OPERATIONS.map(async (op) => {
    while (running) {
      const sentAt = performance.now();
      let result: { status: number; body: string } | undefined;
      try {
        result = await operations[op]();
      } catch (error) {
        result = { status: 0, body: String(error) };
      }
      if (result) observations.push({ op, status: result.status, sentAt, answeredAt: performance.now(), body: result.body.slice(0, 4000) });
      await sleep(op === 'revoke' ? 120 : op.startsWith('readyz') ? 100 : 25);
    }
  });

  return {
    observations,
    acknowledgedRevocations,
    get refreshChainsRestarted() {
      return refreshChainsRestarted;
    },
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

/** The answer each operation gives when all is well. */
export function isHealthy(o: Observation): boolean {
  if (o.op === 'account') return o.status === 200 && o.body.includes('Connected apps');
  return o.status === 200;
}

/** The answers allowed while the database cannot answer: 503 temporarily_unavailable (401 also at the MCP server). */
export function isUnavailableAnswer(o: Observation): boolean {
  if (o.op === 'mcp') return o.status === 503 || o.status === 401;
  if (o.op.startsWith('readyz')) return o.status === 503 && o.body.includes('"database":"down"');
  return o.status === 503 && o.body.includes('temporarily_unavailable');
}

/** Sent and answered inside [from, to]. */
export function within(observations: Observation[], from: number, to: number): Observation[] {
  return observations.filter((o) => o.sentAt >= from && o.answeredAt <= to);
}

/** "op: status×count ..." for the table. */
export function countsByStatus(observations: Observation[]): string {
  const counts = new Map<string, number>();
  for (const o of observations) counts.set(String(o.status), (counts.get(String(o.status)) ?? 0) + 1);
  return [...counts].sort().map(([status, count]) => `${status}×${count}`).join(' ') || 'none';
}

/**
 * Milliseconds from `upAt` until every operation answered healthily for good: for each operation, the
 * answer time of the first healthy answer after its last unhealthy one (sent after `upAt`).
 */
export function recoveryMs(observations: Observation[], upAt: number): number {
  let worst = 0;
  for (const op of OPERATIONS) {
    const after = observations.filter((o) => o.op === op && o.sentAt >= upAt);
    const lastBad = after.findLastIndex((o) => !isHealthy(o));
    const firstGood = after.slice(lastBad + 1)[0];
    if (!firstGood) return Number.POSITIVE_INFINITY;
    worst = Math.max(worst, firstGood.answeredAt - upAt);
  }
  return worst;
}

/** Acknowledged revocations whose access token the MCP server still honours (must be none). */
export async function lostRevocations(stack: ProcessStack, acknowledged: { accessToken: string }[]): Promise<number> {
  let lost = 0;
  for (const { accessToken } of acknowledged) {
    const call = await callTool(stack.mcpUrl, accessToken, 'whoami');
    if (call.status !== 401) lost += 1;
  }
  return lost;
}

/** Waits (up to 20 s) until recoveryMs is finite, then 1 s more so the table sees the full service. */
export async function untilRecovered(observations: Observation[], upAt: number): Promise<void> {
  const deadline = performance.now() + 20_000;
  while (performance.now() < deadline && !Number.isFinite(recoveryMs(observations, upAt))) await sleep(100);
  await sleep(1000);
}

/** Transport failures and 5xx other than 503, one line each (must be none). */
export function brokenAnswers(observations: Observation[]): string[] {
  const broken = observations.filter((o) => o.status === 0 || (o.status >= 500 && o.status !== 503));
  return broken.map((o) => `${o.op} ${o.status} ${o.body.slice(0, 160)}`);
}
