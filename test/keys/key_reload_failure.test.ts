// A rotation this process cannot open (sealed with a secrets key it does not hold, e.g. a host
// started with another SECRETS_KEY): the key watcher says so once per cause, in words that name
// SECRETS_KEY, however often it polls, and the server keeps serving with the keys it had.
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { installServerKeys, watchServerKeys } from '../../src/keys/key_refresh.ts';
import { rotateServerKeys, type ServerKeys } from '../../src/storage/key_store.ts';
import { createLogger } from '../../src/logger.ts';
import { Keyring, newSecretsKey, parseSecretsKey } from '../../src/secrets/keyring.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

async function publishedKids(server: TestServer): Promise<string[]> {
  const response = await fetch(`${server.baseUrl}/jwks`);
  expect(response.status).to.equal(200);
  return ((await response.json()) as { keys: { kid: string }[] }).keys.map((key) => key.kid);
}

describe('server key reload with a rotation sealed under another secrets key', () => {
  let server: TestServer;
  after(() => server?.close());

  it('logs one clear error per cause however often it polls, installs nothing, and keeps serving with the old keys', async () => {
    const ownKey = newSecretsKey();
    server = await startTestServer({ env: { SECRETS_KEY: ownKey } });
    const lines: { level: number; msg: string; err?: { message: string } }[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const installs: ServerKeys[] = [];
    const watch = await watchServerKeys({
      db: server.db,
      logger: createLogger('info', sink),
      intervalSeconds: 0,
      graceSeconds: server.config.keys.gracePeriod,
      keyring: new Keyring([parseSecretsKey(ownKey)]),
      install: (keys) => {
        installs.push(keys);
        installServerKeys(server.provider, [], keys);
      },
    });
    try {
      await watch.refresh();
      const kidsBefore = await publishedKids(server);
      const foreign = new Keyring([parseSecretsKey(newSecretsKey())]);

      await rotateServerKeys(server.db, foreign, server.config.keys.gracePeriod);
      for (let poll = 0; poll < 3; poll += 1) await watch.refresh();
      const errors = () => lines.filter((line) => line.level >= 50);
      expect(errors(), JSON.stringify(lines)).to.have.length(1);
      expect(errors()[0]!.msg).to.equal('server key reload failed; still serving with the keys loaded before');
      expect(errors()[0]!.err?.message).to.match(/is encrypted with key \S+, which is not among the configured secrets keys \(SECRETS_KEY\)/);
      expect(installs, 'key sets installed').to.deep.equal([]);
      expect(await publishedKids(server), 'published keys after the failed reloads').to.deep.equal(kidsBefore);
      expect((await fetch(`${server.baseUrl}/.well-known/openid-configuration`)).status).to.equal(200);

      // A new cause (another such rotation: other rows) is said again, once.
      await rotateServerKeys(server.db, foreign, server.config.keys.gracePeriod);
      for (let poll = 0; poll < 3; poll += 1) await watch.refresh();
      expect(errors(), JSON.stringify(lines)).to.have.length(2);
      expect(await publishedKids(server)).to.deep.equal(kidsBefore);
    } finally {
      await watch.stop();
    }
  });
});
