// Upstream sign-ins in flight (table upstream_sign_ins): what the callback needs to finish one, kept
// server-side under the hash of its `state`, bound to its interaction and to the starting browser.
import type { Database } from '../db/connect.ts';
import { hashTokenValue } from './token_hash.ts';

export interface PendingSignIn {
  /** The interaction whose login step this is; undefined: a sign-in on the /account page. */
  interactionUid: string | undefined;
  upstreamId: string;
  /** SHA-256 of the value the starting browser holds in a cookie. */
  bindingHash: string;
  /** Good for one code exchange at the upstream, and only with that code: kept no longer than the interaction. */
  codeVerifier: string;
  nonce: string;
  expiresAt: Date;
}

interface Row {
  state_hash: string;
  interaction_uid: string | null;
  upstream_id: string;
  binding_hash: string;
  code_verifier: string;
  nonce: string;
  expires_at: Date | string;
}

export async function savePendingSignIn(db: Database, state: string, pending: PendingSignIn): Promise<void> {
  await db<Row>('upstream_sign_ins').insert({
    state_hash: hashTokenValue(state),
    interaction_uid: pending.interactionUid ?? null,
    upstream_id: pending.upstreamId,
    binding_hash: pending.bindingHash,
    code_verifier: pending.codeVerifier,
    nonce: pending.nonce,
    expires_at: pending.expiresAt,
  });
}

/** Takes the sign-in started with `state` (unexpired), so a callback can be answered once only. */
export async function consumePendingSignIn(db: Database, state: string): Promise<PendingSignIn | undefined> {
  const [row] = (await db<Row>('upstream_sign_ins')
    .where({ state_hash: hashTokenValue(state) })
    .delete()
    .returning('*')) as Row[];
  if (!row || new Date(row.expires_at).getTime() <= Date.now()) return undefined;
  return {
    interactionUid: row.interaction_uid ?? undefined,
    upstreamId: row.upstream_id,
    bindingHash: row.binding_hash,
    codeVerifier: row.code_verifier,
    nonce: row.nonce,
    expiresAt: new Date(row.expires_at),
  };
}
