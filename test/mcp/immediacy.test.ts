// Revocation is immediate under load: eight callers hammer whoami with one token; the token is
// revoked at /revoke; no call that starts after the revoke response arrived may succeed.
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { connectClient, revoke } from '../support/oauth_flow.ts';
import { callTool, startMcpTestStack, type McpTestStack } from '../support/mcp_server.ts';
import { createTestAccount, TEST_PASSWORD } from '../support/server.ts';

interface Call {
  startedAt: number;
  status: number;
  /** The error_description of a refusal. */
  description?: string;
}

describe('revocation immediacy under load', () => {
  let stack: McpTestStack;

  before(async () => {
    stack = await startMcpTestStack();
  });
  after(() => stack.close());

  for (const hint of ['access_token', 'refresh_token'] as const) {
    it(`no call starting after the /revoke response succeeds (revoking the ${hint})`, async () => {
      const account = { ...(await createTestAccount(stack.db)), password: TEST_PASSWORD };
      const { client, tokens } = await connectClient(stack.baseUrl, account, { resource: stack.mcpUrl });
      const calls: Call[] = [];
      let revokedAt = Infinity;
      let stopAt = Infinity;

      async function caller(): Promise<void> {
        while (performance.now() < stopAt) {
          const startedAt = performance.now();
          const { status, body } = await callTool(stack.mcpUrl, tokens.access_token, 'whoami');
          calls.push({ startedAt, status, ...(status === 200 ? {} : { description: body?.error_description }) });
        }
      }

      const callers = Array.from({ length: 8 }, caller);
      // Let the load build up, then revoke while it runs.
      while (calls.filter((call) => call.status === 200).length < 40) await sleep(5);
      const token = hint === 'access_token' ? tokens.access_token : tokens.refresh_token!;
      const revoked = await revoke(stack.baseUrl, client, token, hint);
      revokedAt = performance.now();
      expect(revoked.status).to.equal(200);
      stopAt = revokedAt + 300;
      await Promise.all(callers);

      const after = calls.filter((call) => call.startedAt > revokedAt);
      expect(calls.filter((call) => call.startedAt < revokedAt && call.status === 200).length).to.be.greaterThan(40);
      expect(after.length, 'calls started after the revocation').to.be.greaterThan(8);
      // Refused because the token is gone, not for any other reason.
      const refusedAsRevoked = (call: Call) => call.status === 401 && call.description === 'token is unknown, revoked or expired';
      expect(after.filter((call) => !refusedAsRevoked(call)), 'calls after revocation not refused as revoked').to.deep.equal([]);
      expect(calls.every((call) => call.status === 200 || call.status === 401)).to.equal(true);
    });
  }
});
