// Where the secrets keys come from: SECRETS_KEY (a comma-separated list, newest first), or the file
// SECRETS_KEY_FILE holding such a list, or else `$DATA_DIR/secrets.key`, generated on first start
// beside the embedded database's directory (`$DATA_DIR/pglite`), never inside it. Production on
// PostgreSQL refuses the generated file (src/production_policy.ts): its database is shared by hosts
// that must share the key, and a key kept on one host's disk is easily lost.
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Config, ConfigError } from '../config.ts';
import { makePrivate, privateDirectory } from '../db/embedded_permissions.ts';
import { Keyring, KeyringError, newSecretsKey, parseSecretsKey } from './keyring.ts';

export const GENERATED_KEY_FILE = 'secrets.key';

function parseList(text: string, source: string): Keyring {
  const entries = text.split(/[\s,]+/).filter(Boolean);
  if (entries.length === 0) throw new ConfigError(`${source}: no key (expected 32 bytes in hex or base64, comma-separated for rotation)`);
  return new Keyring(
    entries.map((entry, index) => {
      try {
        return parseSecretsKey(entry);
      } catch (error) {
        throw new ConfigError(`${source}: key ${index + 1} is ${(error as KeyringError).message}`);
      }
    }),
  );
}

function readKeyFile(path: string, setting: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${setting}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** The generated key file, created once (atomically: concurrent first starts agree on one key). */
function generatedKeyFile(dataDir: string): string {
  const path = join(dataDir, GENERATED_KEY_FILE);
  if (!existsSync(path)) {
    privateDirectory(dataDir);
    const draft = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(draft, `${newSecretsKey()}\n`, { mode: 0o600 });
    try {
      linkSync(draft, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      unlinkSync(draft);
    }
  }
  makePrivate(path);
  return path;
}

/** The keyring this configuration names; a readable ConfigError when it names none that works. */
export function loadKeyring(config: Pick<Config, 'secrets' | 'database'>): Keyring {
  const { keys, keyFile } = config.secrets;
  if (keys.length > 0 && keyFile) throw new ConfigError('set SECRETS_KEY or SECRETS_KEY_FILE, not both');
  if (keys.length > 0) return parseList(keys.join(','), 'SECRETS_KEY');
  if (keyFile) return parseList(readKeyFile(keyFile, 'SECRETS_KEY_FILE'), 'SECRETS_KEY_FILE');
  const path = generatedKeyFile(config.database.dataDir);
  return parseList(readKeyFile(path, 'DATA_DIR'), path);
}
