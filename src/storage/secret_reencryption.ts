// Re-encrypts every secret at rest under the keyring's first key: server key material (server_keys)
// and the encrypted client secrets (Client payloads; hashed ones are left alone). `secrets rotate`
// runs it for every value not yet under the first key; start-up runs it for plain values only (rows
// written before encryption existed). Values already under the first key are not touched, so a rerun
// changes nothing.
import type { Database } from '../db/connect.ts';
import { lockServerKeys, openKeyMaterial, sealKeyMaterial, type StoredKeyMaterial } from './key_store.ts';
import { clientSecretContext, HASHED_SECRET_PREFIX } from '../secrets/client_secrets.ts';
import { isSealed, type Keyring, SEALED_PREFIX } from '../secrets/keyring.ts';

export interface ReencryptionResult {
  /** The key everything is now encrypted with. */
  keyId: string;
  serverKeys: number;
  clientSecrets: number;
}

/** `all`: anything not under the first key; `plain`: only values stored unencrypted. */
export type ReencryptionScope = 'all' | 'plain';

function needsWork(keyring: Keyring, value: string, scope: ReencryptionScope): boolean {
  if (!isSealed(value)) return true;
  return scope === 'all' && !keyring.isCurrent(value);
}

export async function reencryptSecrets(db: Database, keyring: Keyring, scope: ReencryptionScope): Promise<ReencryptionResult> {
  return db.transaction(async (trx) => {
    await lockServerKeys(trx);
    let serverKeys = 0;
    const keys: { id: string; material: StoredKeyMaterial }[] = await trx('server_keys').select('id', 'material').forUpdate();
    for (const row of keys) {
      if ('sealed' in row.material && !needsWork(keyring, row.material.sealed, scope)) continue;
      const material = sealKeyMaterial(keyring, row.id, openKeyMaterial(keyring, row.id, row.material));
      await trx('server_keys').where({ id: row.id }).update({ material: JSON.stringify(material) });
      serverKeys += 1;
    }

    let clientSecrets = 0;
    const skip = scope === 'all' ? `${SEALED_PREFIX}${keyring.currentKeyId}.%` : `${SEALED_PREFIX}%`;
    const clients: { id: string; secret: string }[] = await trx('oidc_models')
      .select('id', trx.raw("payload->>'client_secret' as secret"))
      .where({ model: 'Client' })
      .whereRaw("payload->>'client_secret' is not null")
      .whereRaw("payload->>'client_secret' not like ?", [`${HASHED_SECRET_PREFIX}%`])
      .whereRaw("payload->>'client_secret' not like ?", [skip])
      .forUpdate();
    for (const row of clients) {
      const context = clientSecretContext(row.id);
      const secret = isSealed(row.secret) ? keyring.open(row.secret, context) : row.secret;
      await trx('oidc_models')
        .where({ model: 'Client', id: row.id })
        .update({ payload: trx.raw("payload || jsonb_build_object('client_secret', ?::text)", [keyring.seal(secret, context)]) });
      clientSecrets += 1;
    }
    return { keyId: keyring.currentKeyId, serverKeys, clientSecrets };
  });
}


export interface DecryptionResult {
  serverKeys: number;
  clientSecrets: number;
  /** Hashed client secrets (server-created clients): they cannot be turned back into the secret. */
  hashedClientSecrets: number;
}

/**
 * The downgrade path (docs/backups.md "Going back"): stores every sealed secret in clear again, in
 * the form releases before encryption at rest read. A start of this release seals them again.
 */
export async function decryptSecrets(db: Database, keyring: Keyring): Promise<DecryptionResult> {
  return db.transaction(async (trx) => {
    await lockServerKeys(trx);
    let serverKeys = 0;
    const keys: { id: string; material: StoredKeyMaterial }[] = await trx('server_keys').select('id', 'material').forUpdate();
    for (const row of keys) {
      if (!('sealed' in row.material)) continue;
      await trx('server_keys')
        .where({ id: row.id })
        .update({ material: JSON.stringify(openKeyMaterial(keyring, row.id, row.material)) });
      serverKeys += 1;
    }

    const clients: { id: string; secret: string }[] = await trx('oidc_models')
      .select('id', trx.raw("payload->>'client_secret' as secret"))
      .where({ model: 'Client' })
      .whereRaw("payload->>'client_secret' like ?", [`${SEALED_PREFIX}%`])
      .forUpdate();
    for (const row of clients) {
      await trx('oidc_models')
        .where({ model: 'Client', id: row.id })
        .update({ payload: trx.raw("payload || jsonb_build_object('client_secret', ?::text)", [keyring.open(row.secret, clientSecretContext(row.id))]) });
    }
    const [hashed] = await trx('oidc_models')
      .where({ model: 'Client' })
      .whereRaw("payload->>'client_secret' like ?", [`${HASHED_SECRET_PREFIX}%`])
      .count<{ count: string | number }[]>({ count: '*' });
    return { serverKeys, clientSecrets: clients.length, hashedClientSecrets: Number(hashed?.count ?? 0) };
  });
}
