// With NODE_ENV=production `node src/main.ts` refuses settings that are only safe on a developer's
// machine: one readable line naming the setting, exit code 1, no stack trace. A safe production
// configuration starts, and serves /metrics on its management port, not on the public ones.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { newSecretsKey } from '../../src/secrets/keyring.ts';
import { freePort } from '../support/processes.ts';

const ROOT = new URL('../../', import.meta.url);

interface Run {
  code: number | null;
  stderr: string;
  stdout: string;
}

function start(script: string, env: Record<string, string | undefined>): { child: ChildProcess; output: () => Run } {
  const defined = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined)) as Record<string, string>;
  const child = spawn(process.execPath, [script], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...defined }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  return { child, output: () => ({ code: child.exitCode, stdout, stderr }) };
}

async function runToExit(script: string, env: Record<string, string | undefined>): Promise<Run> {
  const { child, output } = start(script, env);
  // A refusal found after the embedded database opened waits for its first initialisation.
  const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
  await once(child, 'exit');
  clearTimeout(timer);
  return output();
}

describe('production refuses unsafe settings', () => {
  let workdir: string;
  let safe: Record<string, string | undefined>;

  before(() => {
    workdir = mkdtempSync(join(tmpdir(), 'portcullis-production-'));
    safe = {
      NODE_ENV: 'production',
      ISSUER: 'https://auth.example.com',
      TRUST_PROXY: 'true',
      MCP_RESOURCE: 'https://mcp.example.com/mcp',
      REGISTRATION_OPEN: 'true',
      SECRETS_KEY: newSecretsKey(),
      DATA_DIR: join(workdir, 'data'),
      PORT: '0',
      MCP_PORT: '0',
      METRICS_PORT: '0',
      JANITOR_INTERVAL: '0',
      LOG_LEVEL: 'warn',
    };
  });
  after(() => rmSync(workdir, { recursive: true, force: true }));

  const refusals: { title: string; script?: string; env: Record<string, string | undefined>; line: RegExp }[] = [
    { title: 'an http:// ISSUER', env: { ISSUER: 'http://auth.example.com' }, line: /ISSUER must be the public https:\/\/ URL .*\(now http:\/\/auth\.example\.com\)/ },
    { title: 'no ISSUER (the localhost default)', env: { ISSUER: undefined }, line: /ISSUER must be the public https:\/\/ URL .*\(now http:\/\/localhost:0\)/ },
    { title: 'an https ISSUER without TRUST_PROXY', env: { TRUST_PROXY: undefined }, line: /TRUST_PROXY must be set in production/ },
    { title: 'the localhost default MCP_RESOURCE', env: { MCP_RESOURCE: undefined }, line: /MCP_RESOURCE must be the MCP server's public https:\/\/ URL .*\(now http:\/\/localhost:0\/mcp\)/ },
    {
      title: 'the localhost default MCP_RESOURCE (npm run start:mcp)',
      script: 'src/mcp/main.ts',
      env: { MCP_RESOURCE: undefined, DATABASE_URL: 'postgres://postgres@127.0.0.1:9/none' },
      line: /MCP_RESOURCE must be the MCP server's public https:\/\/ URL/,
    },
    { title: 'no choice of registration policy', env: { REGISTRATION_OPEN: undefined }, line: /REGISTRATION_OPEN=true .* or REGISTRATION_INITIAL_ACCESS_TOKEN/ },
    { title: 'REGISTRATION_OPEN=false without an initial access token', env: { REGISTRATION_OPEN: 'false' }, line: /REGISTRATION_OPEN=true .* or REGISTRATION_INITIAL_ACCESS_TOKEN/ },
    {
      title: 'PostgreSQL without an encryption key',
      env: { SECRETS_KEY: undefined, DATABASE_URL: 'postgres://postgres@127.0.0.1:9/none' },
      line: /SECRETS_KEY \(or SECRETS_KEY_FILE\) must be set in production with DATABASE_URL/,
    },
    { title: 'a malformed SECRETS_KEY', env: { SECRETS_KEY: 'too-short' }, line: /SECRETS_KEY: key 1 is not 32 bytes/ },
  ];

  for (const refusal of refusals) {
    it(`refuses ${refusal.title}: one line naming the setting, exit code 1, no stack`, async function () {
      this.timeout(180_000);
      const run = await runToExit(refusal.script ?? 'src/main.ts', { ...safe, ...refusal.env });
      expect(run.code, run.stderr).to.equal(1);
      const lines = run.stderr.trim().split('\n');
      expect(lines, run.stderr).to.have.length(1);
      expect(lines[0]).to.match(/^portcullis: /).and.to.match(refusal.line);
      expect(run.stderr).not.to.match(/^\s+at /m);
      expect(run.stdout).to.equal('');
    });
  }

  it('refuses a METRICS_PORT it cannot listen on, naming it', async function () {
    this.timeout(180_000);
    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    try {
      const port = (taken.address() as { port: number }).port;
      const run = await runToExit('src/main.ts', { ...safe, METRICS_PORT: String(port) });
      expect(run.code).to.equal(1);
      expect(run.stderr.trim()).to.match(new RegExp(`^portcullis: METRICS_PORT: cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)$`));
    } finally {
      taken.close();
    }
  });

  it('starts with safe settings, and serves /metrics on the management port only', async () => {
    const [port, mcpPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
    const { child, output } = start('src/main.ts', { ...safe, PORT: String(port), MCP_PORT: String(mcpPort), METRICS_PORT: String(metricsPort) });
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        expect(child.exitCode, output().stderr + output().stdout).to.equal(null);
        const up = await fetch(`http://127.0.0.1:${mcpPort}/healthz`).then((response) => response.ok, () => false);
        if (up) break;
        expect(Date.now(), 'started within 60 s').to.be.below(deadline);
        await sleep(200);
      }
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).to.equal(200);
      for (const publicPort of [port, mcpPort]) expect((await fetch(`http://127.0.0.1:${publicPort}/metrics`)).status, `public port ${publicPort}`).to.equal(404);
      const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(metrics.status).to.equal(200);
      expect(await metrics.text()).to.include('portcullis_http_request_duration_seconds');
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
  });
});
