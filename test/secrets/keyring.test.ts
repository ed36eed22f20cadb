// The secrets keyring: AES-256-GCM envelopes that name their key and open only in their own place,
// and the sources of its keys (SECRETS_KEY, SECRETS_KEY_FILE, the generated `$DATA_DIR/secrets.key`).
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ConfigError } from '../../src/config.ts';
import { Keyring, newSecretsKey, parseSecretsKey } from '../../src/secrets/keyring.ts';
import { loadKeyring } from '../../src/secrets/keyring_source.ts';

function source(dataDir: string, keys: string[] = [], keyFile?: string) {
  return { secrets: { keys, keyFile }, database: { dataDir } as never };
}

describe('secrets keyring', () => {
  let workdir: string;
  before(() => {
    workdir = mkdtempSync(join(tmpdir(), 'portcullis-keyring-'));
  });
  after(() => rmSync(workdir, { recursive: true, force: true }));

  it('seals with the first key, opens with any, and only in the place it was sealed for', () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    const sealed = new Keyring([a]).seal('the secret', 'row 1');
    expect(sealed).to.match(/^pcs1\.[A-Za-z0-9_-]{11}\./).and.not.to.include('the secret');
    expect(new Keyring([b, a]).open(sealed, 'row 1')).to.equal('the secret');
    expect(new Keyring([b, a]).isCurrent(sealed)).to.equal(false);
    expect(() => new Keyring([a]).open(sealed, 'row 2')).to.throw(ConfigError, /row 2 does not decrypt/);
    expect(() => new Keyring([b]).open(sealed, 'row 1')).to.throw(ConfigError, /not among the configured secrets keys \(SECRETS_KEY\)/);
    const parts = sealed.split('.');
    parts[3] = Buffer.from('the secreT').toString('base64url');
    expect(() => new Keyring([a]).open(parts.join('.'), 'row 1')).to.throw(ConfigError, /does not decrypt/);
  });

  it('reads keys as hex or base64(url), and refuses anything that is not 32 bytes', () => {
    const key = randomBytes(32);
    for (const written of [key.toString('hex'), key.toString('base64'), key.toString('base64url')]) {
      expect(parseSecretsKey(written).equals(key), written).to.equal(true);
    }
    for (const wrong of ['', 'short', randomBytes(16).toString('hex'), randomBytes(33).toString('base64'), `${key.toString('hex')}!`]) {
      expect(() => parseSecretsKey(wrong), wrong).to.throw(/not 32 bytes/);
    }
  });

  it('takes SECRETS_KEY (newest first) or SECRETS_KEY_FILE, never both', () => {
    const [a, b] = [newSecretsKey(), newSecretsKey()];
    const sealedWithA = new Keyring([parseSecretsKey(a)]).seal('x', 'here');
    const fromList = loadKeyring(source(workdir, [b, a]));
    expect(fromList.currentKeyId).to.equal(new Keyring([parseSecretsKey(b)]).currentKeyId);
    expect(fromList.open(sealedWithA, 'here')).to.equal('x');
    const file = join(workdir, 'keys.txt');
    writeFileSync(file, `${b}\n${a}\n`);
    expect(loadKeyring(source(workdir, [], file)).open(sealedWithA, 'here')).to.equal('x');
    expect(() => loadKeyring(source(workdir, [a], file))).to.throw(ConfigError, /SECRETS_KEY or SECRETS_KEY_FILE, not both/);
    expect(() => loadKeyring(source(workdir, [a, 'nope']))).to.throw(ConfigError, /^SECRETS_KEY: key 2 is not 32 bytes/);
    expect(() => loadKeyring(source(workdir, [], join(workdir, 'missing')))).to.throw(ConfigError, /SECRETS_KEY_FILE: cannot read .*missing \(ENOENT\)/);
  });

  it('generates $DATA_DIR/secrets.key once (0600, in a new 0700 DATA_DIR) and keeps using it', () => {
    const dataDir = join(workdir, 'fresh', 'data');
    const first = loadKeyring(source(dataDir));
    expect(lstatSync(dataDir).mode & 0o777).to.equal(0o700);
    expect(lstatSync(join(dataDir, 'secrets.key')).mode & 0o777).to.equal(0o600);
    expect(loadKeyring(source(dataDir)).currentKeyId).to.equal(first.currentKeyId);
  });
});
