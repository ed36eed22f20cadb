// The production install of docs/operations.md, done exactly, in a temporary copy of this checkout:
// `npm ci` (which builds dist/), `npm prune --omit=dev`; then no package only the dev dependencies
// need is left (TypeScript, the test tools, the pinned Node), and `npm start` — on the documented
// minimum Node or later (this machine's Node 24 binary, with no node_modules/.bin on PATH), with
// NODE_ENV=production and a configuration its production policy accepts (behind a TLS proxy) — serves
// /readyz, discovery and the MCP metadata. An older Node gets one readable line and exit 1.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { freePort, type ServerProcess, startNpmScript } from '../support/processes.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE_24 = join(ROOT, 'node_modules/node/bin/node');
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string }; devDependencies: Record<string, string> };
const minimum = /(\d+)\.(\d+)\.(\d+)/.exec(packageJson.engines.node)!.slice(1).map(Number) as [number, number, number];

/** PATH without any node_modules/.bin, as on a server: `node` and `npm` are the system's. */
const systemPath = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((entry) => entry !== '' && !entry.includes('node_modules'))
  .join(delimiter);

/** npm's own variables from an outer `npm test` (npm_config_*, npm_lifecycle_*) must not steer the inner npm. */
function cleanEnvironment(path: string): NodeJS.ProcessEnv {
  const environment = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')));
  return { ...environment, PATH: path, DATABASE_URL: '' };
}

/**
 * GET through the TLS proxy production runs behind, as it forwards a request to the server's plain
 * HTTP port: the public Host and X-Forwarded-Proto: https (fetch cannot set Host, so node:http).
 */
function getViaProxy(port: number, publicHost: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const forwarded = request(
      { host: '127.0.0.1', port, path, headers: { host: publicHost, 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' } },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, body }));
      },
    );
    forwarded.on('error', reject);
    forwarded.end();
  });
}

const isOlderThanMinimum = (version: string) => {
  const parts = version.replace(/^v/, '').split('.').map(Number);
  for (let i = 0; i < 3; i += 1) if (parts[i] !== minimum[i]) return parts[i]! < minimum[i]!;
  return false;
};

describe('production install: npm ci, npm prune --omit=dev, npm start on the documented Node', function () {
  this.timeout(600_000);
  let copy: string;
  let dataDir: string;
  let server: ServerProcess | undefined;

  before(async function () {
    this.timeout(600_000);
    copy = mkdtempSync(join(tmpdir(), 'portcullis-install-'));
    dataDir = mkdtempSync(join(tmpdir(), 'portcullis-install-data-'));
    // What a clone has: the tracked files (and new ones not ignored), no node_modules, no dist/.
    const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    for (const file of stdout.split('\0').filter(Boolean)) {
      if (!existsSync(join(ROOT, file))) continue; // deleted in the work tree, not yet in the index
      mkdirSync(dirname(join(copy, file)), { recursive: true });
      copyFileSync(join(ROOT, file), join(copy, file));
    }
    const environment = cleanEnvironment(`${dirname(NODE_24)}${delimiter}${systemPath}`);
    const started = performance.now();
    await run('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: copy, env: environment, maxBuffer: 64 * 1024 * 1024 });
    const installed = performance.now();
    await run('npm', ['prune', '--omit=dev', '--no-audit', '--no-fund'], { cwd: copy, env: environment, maxBuffer: 64 * 1024 * 1024 });
    process.stderr.write(`      (npm ci ${Math.round((installed - started) / 1000)} s, npm prune ${Math.round((performance.now() - installed) / 1000)} s)\n`);
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && server) process.stderr.write(`--- server output ---\n${server.output()}\n`);
    await server?.stop();
    server = undefined;
  });
  after(() => {
    if (copy) rmSync(copy, { recursive: true, force: true });
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('leaves the build and no package that only the dev dependencies need (TypeScript, mocha, the pinned Node)', async () => {
    expect(existsSync(join(copy, 'dist/src/main.js')), 'npm ci built dist/').to.equal(true);
    expect(existsSync(join(copy, 'dist/migrations/20261125000000_initial_schema.js')), 'migrations are built').to.equal(true);
    const hidden = JSON.parse(readFileSync(join(copy, 'node_modules/.package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(hidden.packages).filter(([, entry]) => entry.dev).map(([path]) => path);
    expect(devOnly, 'dev-only packages installed').to.deep.equal([]);
    for (const name of ['typescript', 'mocha', 'chai', 'supertest', 'node', 'playwright-core']) {
      expect(Object.keys(packageJson.devDependencies)).to.include(name);
      expect(existsSync(join(copy, 'node_modules', name)), name).to.equal(false);
    }
    expect(existsSync(join(copy, 'node_modules/.bin/node')), 'no pinned node on the scripts’ PATH').to.equal(false);
    // npm's prepare without TypeScript (`npm ci --omit=dev` after a build) keeps the build.
    const prepared = await run('npm', ['run', 'prepare'], { cwd: copy, env: cleanEnvironment(`${dirname(NODE_24)}${delimiter}${systemPath}`) });
    expect(prepared.stdout).to.include('dist/ is left as it is');
    expect(existsSync(join(copy, 'dist/src/main.js'))).to.equal(true);
  });

  it('npm start, on Node 24 with no dev dependency, answers /readyz, discovery and the MCP metadata', async () => {
    const { stdout: version } = await run(NODE_24, ['--version']);
    expect(isOlderThanMinimum(version.trim()), `${version} is at least ${minimum.join('.')}`).to.equal(false);
    const [port, mcpPort] = [await freePort(), await freePort()];
    // A production configuration src/production_policy.ts accepts (NODE_ENV=production refuses the
    // loopback http:// defaults): public https URLs served by a TLS proxy in front (TRUST_PROXY), and
    // an explicit registration choice. The embedded database needs no SECRETS_KEY: the key lives in
    // DATA_DIR (an outer DATABASE_URL is not passed on).
    const issuer = 'https://auth.example.test';
    const resource = 'https://mcp.example.test/mcp';
    server = await startNpmScript(
      'npm start (production install)',
      'start',
      port,
      {
        PATH: `${dirname(NODE_24)}${delimiter}${systemPath}`,
        NODE_ENV: 'production',
        DATA_DIR: dataDir,
        PORT: String(port),
        ISSUER: issuer,
        TRUST_PROXY: '1',
        MCP_PORT: String(mcpPort),
        MCP_RESOURCE: resource,
        REGISTRATION_OPEN: 'true',
        LOG_LEVEL: 'info',
      },
      copy,
    );
    const ready = await getViaProxy(port, 'auth.example.test', '/readyz');
    expect(ready.status, ready.body).to.equal(200);
    const discovery = await getViaProxy(port, 'auth.example.test', '/.well-known/openid-configuration');
    expect(discovery.status, discovery.body).to.equal(200);
    expect(JSON.parse(discovery.body)).to.include({ issuer, token_endpoint: `${issuer}/token` });
    const metadata = await getViaProxy(mcpPort, 'mcp.example.test', '/.well-known/oauth-protected-resource/mcp');
    expect(metadata.status, metadata.body).to.equal(200);
    expect(JSON.parse(metadata.body)).to.include({ resource });
    expect(JSON.parse(metadata.body).authorization_servers).to.deep.equal([issuer]);
    const migrations = readdirSync(join(copy, 'migrations')).filter((file) => file.endsWith('.ts')).length;
    expect(server.output(), 'every migration ran from dist/').to.include(`"migrations":${migrations},`);
  });

  it('an older Node (the system node) gets one readable line and exit 1, from the server and the CLI', async function () {
    let older: { path: string; version: string } | undefined;
    for (const directory of systemPath.split(delimiter)) {
      const candidate = join(directory, 'node');
      if (!existsSync(candidate)) continue;
      const { stdout } = await run(candidate, ['--version']);
      if (isOlderThanMinimum(stdout.trim())) older = { path: candidate, version: stdout.trim() };
      break;
    }
    if (!older) {
      process.stderr.write(`      (no Node older than ${minimum.join('.')} on PATH to try)\n`);
      this.skip();
    }
    for (const entry of ['bin/server.js', 'bin/mcp_server.js', 'bin/portcullis.js']) {
      const outcome = await run(older!.path, [entry, '--help'], { cwd: copy, env: cleanEnvironment(systemPath) }).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => error,
      );
      expect(outcome.code, entry).to.equal(1);
      expect(outcome.stderr).to.equal(`portcullis needs Node.js ${minimum.join('.')} or later; this is ${older!.version} (${older!.path})\n`);
    }
  });
});
