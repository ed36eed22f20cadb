// Acknowledged means durable, on the embedded database (DATA_DIR): the server process is killed with
// SIGKILL the moment a revocation is answered — /revoke's 200, the account page's Disconnect — and
// after a restart on the same directory the revoked tokens are still refused. (PGlite writes each
// commit's WAL to the data directory before the query resolves; see docs/operations.md for what that
// does not cover: a power loss.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import request from 'supertest';
import { connectClient, introspect, refresh, revoke, type RegisteredClient } from '../support/oauth_flow.ts';
import { freePort, runCliProcess, type ServerProcess, startProcess } from '../support/processes.ts';
import { TEST_PASSWORD } from '../support/server.ts';

describe('embedded database: a revocation answered before kill -9 survives the restart', function () {
  this.timeout(180_000);
  const account = { email: 'durable@example.test', password: TEST_PASSWORD };
  let dataDir: string;
  let port: number;
  let origin: string;
  let resource: string;
  let server: ServerProcess | undefined;
  /** The resource server that introspects (/introspect answers only one): it lives in the database. */
  let observer: RegisteredClient;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'portcullis-durable-'));
    port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    resource = `http://127.0.0.1:${await freePort()}/mcp`;
    const added = await runCliProcess(['users', 'add', account.email, '--password', account.password], { DATA_DIR: dataDir });
    expect(added.code, added.stderr).to.equal(0);
    const designated = await runCliProcess(['clients', 'create-resource-server', resource, '--json'], { DATA_DIR: dataDir, MCP_RESOURCE: resource });
    expect(designated.code, designated.stderr).to.equal(0);
    const { client_id, client_secret } = JSON.parse(designated.stdout) as { client_id: string; client_secret: string };
    observer = { client_id, client_secret };
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && server) process.stderr.write(`--- server output ---\n${server.output()}\n`);
    await server?.stop();
    server = undefined;
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  /** The same issuer, port and directory every time, as a supervisor restarts it. */
  async function start(): Promise<ServerProcess> {
    server = await startProcess('server', 'src/main.ts', port, {
      DATA_DIR: dataDir,
      PORT: String(port),
      ISSUER: origin,
      MCP_RESOURCE: resource,
      SERVE: 'authorization',
    });
    return server;
  }

  async function killNow(running: ServerProcess): Promise<void> {
    running.child.kill('SIGKILL');
    if (running.child.exitCode === null && running.child.signalCode === null) await new Promise((resolve) => running.child.once('exit', resolve));
  }

  async function isActive(token: string): Promise<boolean> {
    const result = await introspect(origin, observer, token);
    expect(result.status).to.equal(200);
    return result.body.active === true;
  }

  it('/revoke of an access token and of a refresh token: still refused after kill -9 and a restart', async () => {
    let running = await start();
    const first = await connectClient(origin, account, { resource });
    const second = await connectClient(origin, account, { resource });
    const untouched = await connectClient(origin, account, { resource });
    expect(await isActive(first.tokens.access_token)).to.equal(true);

    const revokedAccess = await revoke(origin, first.client, first.tokens.access_token, 'access_token');
    expect(revokedAccess.status).to.equal(200);
    await killNow(running);

    running = await start();
    const revokedRefresh = await revoke(origin, second.client, second.tokens.refresh_token!, 'refresh_token');
    expect(revokedRefresh.status).to.equal(200);
    await killNow(running);

    await start();
    expect(await isActive(first.tokens.access_token), 'the access token revoked before the first kill').to.equal(false);
    expect((await refresh(origin, second.client, second.tokens.refresh_token!)).status, 'the refresh token revoked before the second kill').to.equal(400);
    // Control: what was not revoked lived through both kills.
    expect(await isActive(untouched.tokens.access_token)).to.equal(true);
    expect((await refresh(origin, untouched.client, untouched.tokens.refresh_token!)).status).to.equal(200);
  });

  it("the account page's Disconnect: the app's tokens are still refused after kill -9 and a restart", async () => {
    const running = await start();
    const app = await connectClient(origin, account, { resource, metadata: { client_name: 'Durable Notes' } });
    const other = await connectClient(origin, account, { resource, metadata: { client_name: 'Durable Calendar' } });
    expect(await isActive(app.tokens.access_token)).to.equal(true);
    const browser = request.agent(origin);
    const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    const form = await browser.get('/account').expect(200);
    await browser.post('/account/sign-in').type('form').send({ csrf: csrfOf(form.text), ...account }).expect(303);
    const page = await browser.get('/account').expect(200);
    const grantIds = new Set([...page.text.matchAll(/\/account\/apps\/([^/"]+)\/disconnect/g)].map((match) => decodeURIComponent(match[1]!)));
    // The confirmation page names the app: pick Durable Notes' grant.
    const appGrant = [];
    for (const grantId of grantIds) {
      const confirm = await browser.get(`/account/apps/${encodeURIComponent(grantId)}/disconnect`).expect(200);
      if (confirm.text.includes('Durable Notes')) appGrant.push({ grantId, csrf: csrfOf(confirm.text) });
    }
    expect(appGrant, 'the confirmation page of the app').to.have.length(1);
    const disconnected = await browser
      .post(`/account/apps/${encodeURIComponent(appGrant[0]!.grantId)}/disconnect`)
      .type('form')
      .send({ csrf: appGrant[0]!.csrf })
      .expect(200);
    expect(disconnected.text).to.include('is disconnected');
    await killNow(running);

    await start();
    expect(await isActive(app.tokens.access_token), 'the disconnected app’s access token').to.equal(false);
    expect((await refresh(origin, app.client, app.tokens.refresh_token!)).status, 'the disconnected app’s refresh token').to.equal(400);
    expect(await isActive(other.tokens.access_token), 'the other app still works').to.equal(true);
  });
});
