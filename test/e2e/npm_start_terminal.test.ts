// `npm start` as a newcomer sees it: on a terminal (a real pseudo-terminal, through util-linux
// `script`) it says in plain words where the servers are and how to sign in; without one it writes
// JSON lines only. A changed MCP_PORT moves the default MCP_RESOURCE with it, and the issuer the
// server records at start is what `clients create-operator` prints afterwards.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { loadConfig } from '../../src/config.ts';
import { DEMO_EMAIL, DEMO_PASSWORD } from '../../seeds/01_demo_account.ts';
import { runCliChild } from '../support/cli.ts';
import { freePort, stopChild } from '../support/processes.ts';

const node = resolve('node_modules/.bin/node');

interface Started {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `node src/main.ts` (on a pseudo-terminal when `terminal`) and waits until `ready` matches its output. */
async function start(env: Record<string, string>, terminal: boolean, ready: RegExp): Promise<Started> {
  const { DATABASE_URL: _url, MCP_RESOURCE: _resource, ISSUER: _issuer, ...environment } = process.env;
  const child = terminal
    ? spawn('script', ['-qfec', `${node} src/main.ts`, '/dev/null'], { env: { ...environment, ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(node, ['src/main.ts'], { env: { ...environment, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8').replaceAll('\r', '')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8').replaceAll('\r', '')));
  const deadline = Date.now() + 90_000;
  while (!ready.test(output)) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`npm start did not get ready:\n${output}`);
    }
    await sleep(100);
  }
  return {
    child,
    output: () => output,
    stop: () => stopChild(child),
  };
}

describe('npm start on a terminal and off one', function () {
  this.timeout(240_000);
  let dataDir: string;
  let asPort: number;
  let mcpPort: number;
  let env: Record<string, string>;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'portcullis-start-'));
    [asPort, mcpPort] = [await freePort(), await freePort()];
    env = { NODE_ENV: 'development', PORT: String(asPort), MCP_PORT: String(mcpPort), DATA_DIR: dataDir, JANITOR_INTERVAL: '0', LOG_LEVEL: 'info' };
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  it('MCP_RESOURCE defaults to http://localhost:$MCP_PORT/mcp, and an explicit one wins', () => {
    expect(loadConfig({ MCP_PORT: '4111' }).resource).to.equal('http://localhost:4111/mcp');
    expect(loadConfig({}).resource).to.equal('http://localhost:3001/mcp');
    expect(loadConfig({ MCP_PORT: '4111', MCP_RESOURCE: 'https://mcp.example.com/mcp' }).resource).to.equal('https://mcp.example.com/mcp');
  });

  it('on a terminal: where the servers are and the demo account, in plain words; the 401 points at the changed MCP port', async () => {
    const server = await start(env, true, /Stop with Ctrl\+C\./);
    try {
      const text = server.output();
      const mcpUrl = `http://localhost:${mcpPort}/mcp`;
      expect(text).to.match(new RegExp(`Authorization server +http://localhost:${asPort} `));
      expect(text).to.match(new RegExp(`MCP server +${mcpUrl} `));
      expect(text).to.include(`Connected apps        http://localhost:${asPort}/account`);
      expect(text).to.include(`Sign in with the demo account: ${DEMO_EMAIL}, password ${DEMO_PASSWORD}.`);

      const challenge = await fetch(`http://127.0.0.1:${mcpPort}/mcp`, { method: 'POST' });
      expect(challenge.status).to.equal(401);
      expect(challenge.headers.get('www-authenticate')).to.include(
        `resource_metadata="http://localhost:${mcpPort}/.well-known/oauth-protected-resource/mcp"`,
      );
      const metadata = (await (await fetch(`http://127.0.0.1:${mcpPort}/.well-known/oauth-protected-resource/mcp`)).json()) as {
        resource: string;
        authorization_servers: string[];
      };
      expect(metadata.resource).to.equal(mcpUrl);
      expect(metadata.authorization_servers).to.deep.equal([`http://localhost:${asPort}`]);
    } finally {
      await server.stop();
    }
  });

  it('off a terminal: JSON lines only', async () => {
    const server = await start(env, false, /"msg":"MCP server listening"/);
    await server.stop();
    const lines = server.output().split('\n').filter((line) => line.trim() !== '');
    expect(lines.length).to.be.greaterThan(1);
    for (const line of lines) expect(() => JSON.parse(line), line).not.to.throw();
    expect(server.output()).not.to.include('Stop with Ctrl+C');
  });

  it('afterwards, clients create-operator prints the issuer the server ran with, not one from its own (default) environment', async () => {
    const run = await runCliChild(['clients', 'create-operator', 'ops', '--json'], { DATA_DIR: dataDir });
    expect(run.code, run.stderr).to.equal(0);
    const printed = JSON.parse(run.stdout) as { issuer: string; tokenEndpoint: string; resource: string };
    expect(printed).to.deep.include({
      issuer: `http://localhost:${asPort}`,
      tokenEndpoint: `http://localhost:${asPort}/token`,
      resource: `http://localhost:${asPort}/admin`,
    });
    expect(run.stderr).to.include(`the server runs with issuer http://localhost:${asPort}`);
  });
});
