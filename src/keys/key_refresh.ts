// Key rotation reaches running processes without a restart: each process re-reads server_keys when
// a rotation is announced (PostgreSQL LISTEN/NOTIFY, src/db/notifications.ts), whenever listening is
// (re-)established (a rotation announced before would be missed), and, as a fallback for a lost notification or a pooler
// that cannot deliver them, whenever a periodic check sees a change. A new key set
// is installed into the provider (signing keystore and published JWKS) and into every Koa app that
// signs cookies with the provider's keys.
import type Koa from 'koa';
import type Provider from 'oidc-provider';
import type { JWK } from 'jose';
import type { Database } from '../db/connect.ts';
import type { Logger } from '../logger.ts';
import type { Keyring } from '../secrets/keyring.ts';
import { recordKeyReload } from '../observability/metrics.ts';
import { listenForNotifications } from '../db/notifications.ts';
import { loadServerKeys, SERVER_KEYS_CHANNEL, type ServerKeys } from '../storage/key_store.ts';

type InitializeKeystore = (this: Provider, jwks: { keys: JWK[] }) => void;

// The library builds its keystore and public JWKS in this helper at construction; calling it again
// on the same provider replaces both (lib/helpers/initialize_keystore.js, oidc-provider 9).
const { default: initializeKeystore } = (await import('oidc-provider/lib/helpers/initialize_keystore.js' as string)) as {
  default: InitializeKeystore;
};

/** Makes `keys` the provider's signing keys and cookie keys, and the cookie keys of `apps`. */
export function installServerKeys(provider: Provider, apps: Koa[], keys: ServerKeys): void {
  if (keys.signingKeys.length === 0 || keys.cookieKeys.length === 0) throw new Error('refusing to install an empty key set');
  initializeKeystore.call(provider, { keys: keys.signingKeys });
  provider.keys = keys.cookieKeys;
  for (const app of apps) app.keys = keys.cookieKeys;
}

export interface KeyWatchOptions {
  db: Database;
  logger: Logger;
  /** Seconds between fingerprint checks (0: no polling; notifications only). */
  intervalSeconds: number;
  /** Seconds a retired key stays loaded. */
  graceSeconds: number;
  /** Opens the stored key material. */
  keyring: Keyring;
  install: (keys: ServerKeys) => void;
}

export interface KeyWatch {
  /** Re-reads the keys now if they changed; resolves when done. */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

export async function watchServerKeys(options: KeyWatchOptions): Promise<KeyWatch> {
  const { db, logger } = options;
  // The installed set, compared whole: a rotation changes it, and so does a retired key leaving
  // after its grace period without any rotation (a handful of rows, cheap to read).
  let installed = JSON.stringify(await loadServerKeys(db, options.keyring, options.graceSeconds));
  let running: Promise<void> | undefined;
  // The last failure logged: a cause that persists (a key sealed with a secrets key this process
  // lacks) fails every poll, and is said once, not once per poll; the metric counts every attempt.
  let failure: string | undefined;

  async function reload(): Promise<void> {
    try {
      const keys = await loadServerKeys(db, options.keyring, options.graceSeconds);
      failure = undefined;
      const serialized = JSON.stringify(keys);
      if (serialized === installed) return;
      options.install(keys);
      installed = serialized;
      recordKeyReload('ok');
      logger.info({ signingKeys: keys.signingKeys.map((key) => key.kid) }, 'server keys reloaded');
    } catch (error) {
      recordKeyReload('failed');
      const cause = error instanceof Error ? error.message : String(error);
      if (cause === failure) return;
      failure = cause;
      logger.error({ err: error }, 'server key reload failed; still serving with the keys loaded before');
    }
  }

  function refresh(): Promise<void> {
    running ??= reload().finally(() => {
      running = undefined;
    });
    return running;
  }

  // The embedded database has one process: nothing to hear from.
  const listener =
    db.client.config.client === 'pg'
      ? listenForNotifications({ db, logger, channel: SERVER_KEYS_CHANNEL, onNotification: () => void refresh(), onListening: () => void refresh() })
      : undefined;
  const timer = options.intervalSeconds > 0 ? setInterval(() => void refresh(), options.intervalSeconds * 1000).unref() : undefined;

  return {
    refresh,
    async stop() {
      clearInterval(timer);
      await listener?.close();
      await running;
    },
  };
}
