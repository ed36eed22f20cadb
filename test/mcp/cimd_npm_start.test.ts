// `npm start` as a newcomer runs it (a child process: authorization server + MCP server on one
// embedded database, demo account seeded), driven by the MCP SDK client that identifies itself with a
// Client ID Metadata Document served over https from this test with a self-signed certificate, which
// the child trusts through NODE_EXTRA_CA_CERTS. Then the user's tokens are revoked: 401, and the SDK
// authorizes again through the same document.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEMO_EMAIL, DEMO_PASSWORD } from '../../seeds/01_demo_account.ts';
import { callToolReauthorizing, connectMcpClient, HeadlessOAuthProvider, MCP_REDIRECT_URI } from '../support/mcp_client.ts';
import { bearerChallenge, callTool } from '../support/mcp_server.ts';
import { type MetadataDocumentServer, publicClientDocument, startMetadataDocumentServer } from '../support/metadata_documents.ts';
import { revoke } from '../support/oauth_flow.ts';
import { freePort } from '../support/processes.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

async function waitFor(url: string, child: ChildProcess, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${url} did not come up`);
}

describe('npm start + MCP SDK client with a Client ID Metadata Document (https, self-signed)', function () {
  this.timeout(120_000);
  let workdir: string;
  let documents: MetadataDocumentServer;
  let child: ChildProcess;
  let output = '';
  let issuer: string;
  let mcpUrl: string;
  let clientId: string;

  before(async () => {
    workdir = mkdtempSync(join(tmpdir(), 'portcullis-cimd-'));
    const mcpPort = await freePort();
    const asPort = await freePort();
    issuer = `http://localhost:${asPort}`;
    mcpUrl = `http://localhost:${mcpPort}/mcp`;

    documents = await startMetadataDocumentServer();
    const document = (id: string) => publicClientDocument(id, { client_name: 'CIMD test client', redirect_uris: [MCP_REDIRECT_URI] });
    clientId = documents.serve('/client.json', document(`${documents.origin}/client.json`));
    documents.serve('/impostor.json', document('https://somewhere.else/client.json'));

    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.DATABASE_URL;
    child = spawn(process.execPath, ['src/main.ts'], {
      cwd: root,
      env: {
        ...env,
        NODE_ENV: 'development',
        PORT: String(asPort),
        MCP_PORT: String(mcpPort),
        MCP_RESOURCE: mcpUrl,
        DATA_DIR: join(workdir, 'data'),
        JANITOR_INTERVAL: '0',
        METRICS_PORT: '0',
        LOG_LEVEL: 'warn',
        NODE_EXTRA_CA_CERTS: documents.certificateFile,
        CLIENT_METADATA_ALLOW_LOOPBACK: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    try {
      await waitFor(`${issuer}/healthz`, child);
      await waitFor(`http://localhost:${mcpPort}/.well-known/oauth-protected-resource/mcp`, child);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${output}`);
    }
  });

  after(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await documents?.close();
    rmSync(workdir, { recursive: true, force: true });
  });

  it('connects as the demo account with the URL as client_id, and re-authorizes after revocation', async () => {
    const provider = new HeadlessOAuthProvider({ email: DEMO_EMAIL, password: DEMO_PASSWORD }, { clientMetadataUrl: clientId });
    let client = await connectMcpClient(mcpUrl, provider);
    expect(provider.clientInformation()!.client_id).to.equal(clientId);
    expect(documents.hits.get('/client.json')).to.be.at.least(1);

    let result = await client.callTool({ name: 'whoami', arguments: {} });
    const who = (result as { structuredContent: Record<string, unknown> }).structuredContent;
    expect(who).to.include({ email: DEMO_EMAIL, clientId, resource: mcpUrl });

    const { access_token: accessToken, refresh_token: refreshToken } = provider.tokens()!;
    expect((await revoke(issuer, { client_id: clientId }, refreshToken!, 'refresh_token')).status).to.equal(200);
    const rejected = await callTool(mcpUrl, accessToken, 'whoami');
    expect(rejected.status).to.equal(401);
    expect(bearerChallenge(rejected.headers.get('www-authenticate'))).to.deep.include({
      error: 'invalid_token',
      error_description: 'token is unknown, revoked or expired',
      resource_metadata: `http://localhost:${new URL(mcpUrl).port}/.well-known/oauth-protected-resource/mcp`,
    });

    ({ client, result } = await callToolReauthorizing(mcpUrl, provider, client, 'whoami'));
    expect((result as { structuredContent: Record<string, unknown> }).structuredContent).to.include({ email: DEMO_EMAIL, clientId });
    await client.close();
  });

  it('refuses a document whose client_id is not its URL, and a redirect URI the document does not list', async () => {
    const impostor = clientId.replace('/client.json', '/impostor.json');
    for (const [id, redirectUri] of [[impostor, MCP_REDIRECT_URI], [clientId, 'http://127.0.0.1:9/elsewhere']] as const) {
      const query = new URLSearchParams({
        client_id: id,
        response_type: 'code',
        redirect_uri: redirectUri,
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        resource: mcpUrl,
      });
      const response = await fetch(`${issuer}/authorize?${query}`, { redirect: 'manual' });
      expect(response.status, id).to.equal(400);
      expect(response.headers.get('location')).to.equal(null);
    }
  });
});
