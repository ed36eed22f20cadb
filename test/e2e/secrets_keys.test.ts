// The secrets keys can be rotated without losing data: what was written under key A is readable
// with SECRETS_KEY="B,A", `secrets rotate` moves everything to B, and then B alone is enough while A
// alone no longer opens anything (the server refuses to start, naming the problem). Rows stored in
// clear before encryption existed are encrypted when a server starts; `secrets decrypt` (the way back
// to 0.1.0) stores them in clear again.
import { expect } from 'chai';
import { runCli } from '../../src/cli/program.ts';
import { createLogger } from '../../src/logger.ts';
import { createRevocationService } from '../../src/revocation/revocation_service.ts';
import { randomBytes } from 'node:crypto';
import { Keyring, newSecretsKey, parseSecretsKey } from '../../src/secrets/keyring.ts';
import { createTestDatabase } from '../support/database.ts';
import { postForm, registerClient, type RegisteredClient } from '../support/oauth_flow.ts';
import { createOperator, requestOperatorToken } from '../support/operator.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

function keyIdOf(key: string): string {
  return new Keyring([parseSecretsKey(key)]).currentKeyId;
}

async function captureStdout(run: () => Promise<number>): Promise<{ code: number; stdout: string }> {
  const chunks: string[] = [];
  const { write } = process.stdout;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  try {
    return { code: await run(), stdout: chunks.join('') };
  } finally {
    process.stdout.write = write;
  }
}

describe('secrets keys (SECRETS_KEY) rotation', () => {
  it('reads data written under A with "B,A", and with "B" alone after `secrets rotate`; A alone then refuses to start', async () => {
    const database = await createTestDatabase();
    const servers: TestServer[] = [];
    const start = async (secretsKey: string) => {
      const server = await startTestServer({ database, env: { SECRETS_KEY: secretsKey } });
      servers.push(server);
      return server;
    };
    try {
      const a = newSecretsKey();
      const b = newSecretsKey();

      const first = await start(a);
      const client = await registerClient(first.baseUrl, { token_endpoint_auth_method: 'client_secret_basic' });
      const operator = await createOperator(first, 'keys test');
      const published = await (await fetch(`${first.baseUrl}/jwks`)).json();
      await first.close();

      // Each server: the registered client authenticates and reads its secret back (RFC 7592), the
      // operator gets a token, and the signing keys are the ones made under A.
      const works = async (server: TestServer, label: string) => {
        const revoked = await postForm(server.baseUrl, '/revoke', client, { token: 'not-a-token' });
        expect(revoked.status, `${label}: registered client authenticates`).to.equal(200);
        const wrong: RegisteredClient = { ...client, client_secret: `${client.client_secret}x` };
        expect((await postForm(server.baseUrl, '/revoke', wrong, { token: 'not-a-token' })).status, `${label}: wrong secret`).to.equal(401);
        const read = await fetch(client.registration_client_uri!.replace(first.baseUrl, server.baseUrl), {
          headers: { authorization: `Bearer ${client.registration_access_token}` },
        });
        expect(((await read.json()) as RegisteredClient).client_secret, `${label}: RFC 7592 read`).to.equal(client.client_secret);
        const issued = await requestOperatorToken(server.baseUrl, operator);
        expect(issued.status, `${label}: operator token`).to.equal(200);
        const refused = await requestOperatorToken(server.baseUrl, { ...operator, client_secret: `${operator.client_secret}x` });
        expect(refused.status, `${label}: operator with a wrong secret`).to.equal(401);
        expect(await (await fetch(`${server.baseUrl}/jwks`)).json(), `${label}: published keys`).to.deep.equal(published);
      };

      const both = await start(`${b},${a}`);
      await works(both, 'B,A');
      const logger = createLogger('silent');
      const rotation = await captureStdout(() =>
        runCli(['secrets', 'rotate', '--json'], { config: both.config, db: both.db, logger, revocation: createRevocationService(both.db, logger) }),
      );
      expect(rotation.code).to.equal(0);
      const result = JSON.parse(rotation.stdout) as { keyId: string; serverKeys: number; clientSecrets: number };
      // Two server keys (signing, cookie) and the registered client's secret; the operator's is a hash.
      expect(result).to.deep.equal({ keyId: keyIdOf(b), serverKeys: 2, clientSecrets: 1 });
      const again = await captureStdout(() =>
        runCli(['secrets', 'rotate', '--json'], { config: both.config, db: both.db, logger, revocation: createRevocationService(both.db, logger) }),
      );
      expect(JSON.parse(again.stdout), 'a second rotation has nothing to do').to.deep.include({ serverKeys: 0, clientSecrets: 0 });
      await both.close();

      const stored = JSON.stringify([await database.db('server_keys').select('material'), await database.db('oidc_models').where({ model: 'Client' }).select('payload')]);
      expect(stored).to.include(`pcs1.${keyIdOf(b)}.`);
      expect(stored).not.to.include(`pcs1.${keyIdOf(a)}.`);

      await works(await start(b), 'B alone');
      const refused = await start(a).then(
        () => undefined,
        (error: Error) => error,
      );
      expect(refused?.message).to.match(new RegExp(`encrypted with key ${keyIdOf(b)}, which is not among the configured secrets keys`));
    } finally {
      for (const server of servers) await server.close();
      await database.close();
    }
  });

  it('encrypts server keys and client secrets stored in clear (before encryption existed) on start', async () => {
    const database = await createTestDatabase();
    try {
      const legacyCookieKey = randomBytes(32).toString('base64url');
      const legacySecret = randomBytes(32).toString('base64url');
      await database.db('server_keys').insert({ id: 'legacy-cookie', kind: 'cookie', material: JSON.stringify({ secret: legacyCookieKey }) });
      const clientId = 'legacy-confidential';
      await database.db('oidc_models').insert({
        model: 'Client',
        id: clientId,
        client_id: clientId,
        payload: JSON.stringify({
          client_id: clientId,
          client_secret: legacySecret,
          grant_types: ['authorization_code'],
          response_types: ['code'],
          redirect_uris: ['https://app.example/cb'],
          token_endpoint_auth_method: 'client_secret_basic',
        }),
      });
      const before = JSON.stringify(await database.db('server_keys').select('material'));
      expect(before, 'the legacy row is in clear to begin with').to.include(legacyCookieKey);

      const server = await startTestServer({ database, env: { SECRETS_KEY: newSecretsKey() } });
      try {
        const dump = JSON.stringify([await database.db('server_keys').select('material'), await database.db('oidc_models').select('payload')]);
        expect(dump).not.to.include(legacyCookieKey);
        expect(dump).not.to.include(legacySecret);
        expect(server.provider.keys, 'the legacy cookie key is still in use').to.include(legacyCookieKey);
        const client: RegisteredClient = { client_id: clientId, client_secret: legacySecret };
        expect((await postForm(server.baseUrl, '/revoke', client, { token: 'not-a-token' })).status).to.equal(200);
      } finally {
        await server.close();
      }
    } finally {
      await database.close();
    }
  });

  it('`secrets decrypt --yes` stores the encrypted secrets in clear again (for 0.1.0), and the next start encrypts them again', async () => {
    const database = await createTestDatabase();
    const key = newSecretsKey();
    const servers: TestServer[] = [];
    try {
      const first = await startTestServer({ database, env: { SECRETS_KEY: key } });
      servers.push(first);
      const client = await registerClient(first.baseUrl, { token_endpoint_auth_method: 'client_secret_basic' });
      await createOperator(first, 'decrypt test');
      const published = await (await fetch(`${first.baseUrl}/jwks`)).json();
      const logger = createLogger('silent');
      const decrypt = () =>
        captureStdout(() => runCli(['secrets', 'decrypt', '--yes', '--json'], { config: first.config, db: first.db, logger, revocation: createRevocationService(first.db, logger) }));
      const decrypted = await decrypt();
      expect(decrypted.code).to.equal(0);
      // Signing and cookie key, the registered client's secret; the operator's hash cannot be undone.
      expect(JSON.parse(decrypted.stdout)).to.deep.equal({ serverKeys: 2, clientSecrets: 1, hashedClientSecrets: 1 });
      expect(JSON.parse((await decrypt()).stdout), 'a second run has nothing to do').to.deep.equal({ serverKeys: 0, clientSecrets: 0, hashedClientSecrets: 1 });
      await first.close();

      // In clear, in the form 0.1.0 reads: a private JWK and the cookie secret, the client secret itself.
      const materials: { kind: string; material: { jwk?: { d?: string }; secret?: string; sealed?: string } }[] = await database.db('server_keys').select('kind', 'material');
      expect(materials.map((row) => [row.kind, Boolean(row.material.sealed), Boolean(row.material.jwk?.d ?? row.material.secret)]).sort()).to.deep.equal([
        ['cookie', false, true],
        ['signing', false, true],
      ]);
      const [row] = await database.db('oidc_models').where({ model: 'Client', id: client.client_id }).select('payload');
      expect((row as { payload: { client_secret: string } }).payload.client_secret).to.equal(client.client_secret);

      const next = await startTestServer({ database, env: { SECRETS_KEY: key } });
      servers.push(next);
      const stored = JSON.stringify([await database.db('server_keys').select('material'), await database.db('oidc_models').where({ model: 'Client' }).select('payload')]);
      expect(stored).not.to.include(client.client_secret!);
      expect(stored).not.to.match(/"(d|secret)":/);
      expect((await postForm(next.baseUrl, '/revoke', client, { token: 'not-a-token' })).status).to.equal(200);
      expect(await (await fetch(`${next.baseUrl}/jwks`)).json()).to.deep.equal(published);
    } finally {
      for (const server of servers) await server.close();
      await database.close();
    }
  });
});
