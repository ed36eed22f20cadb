// What the adapter may do within one request instead of one statement per library call: the
// assembly runs each provider request and each token verification in a scope (`withRequestScope`).
// - Primed reads: a token read returns its grant's row (and, for an access token, its client's with
//   the disabled mark); the Grant and Client finds the library makes next, in the same request, take
//   them instead of sending more statements.
// - A deferred consume: a refresh token or code consumed at /token is consumed by the statement that
//   inserts the first token issued for it, so the consume and that token commit together or not at all.
//   A consume still deferred when the scope ends is dropped: no token was issued for it, so the client
//   keeps a usable refresh token (or code) instead of losing it to a failed request.
// Nothing outlives the scope: the next request reads the database again, so a revocation, a disabled
// client or a deleted client shows on the very next request.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AdapterPayload } from 'oidc-provider';

/** A row read ahead for a model's next find: absent (`payload` undefined) is an answer too. */
export interface PrimedRow {
  payload: AdapterPayload | undefined;
  /** Clients only: the client is marked disabled. */
  disabled?: boolean;
}

/** A consume waiting for the insert of the first token issued in exchange for it. */
export interface DeferredConsume {
  model: string;
  /** The consumed token's stored key (the hash of its value). */
  key: string;
}

interface RequestScope {
  primed: Map<string, PrimedRow>;
  consume: DeferredConsume | undefined;
}

const storage = new AsyncLocalStorage<RequestScope>();

const keyOf = (model: string, id: string) => `${model}\0${id}`;

/** Runs `request` in a fresh scope, dropped when it settles. */
export function withRequestScope<T>(request: () => Promise<T>): Promise<T> {
  return storage.run({ primed: new Map(), consume: undefined }, request);
}

export function inRequestScope(): boolean {
  return storage.getStore() !== undefined;
}

export function prime(model: string, id: string, row: PrimedRow): void {
  storage.getStore()?.primed.set(keyOf(model, id), row);
}

/** The row primed for this find, used once (a second find reads the database). */
export function takePrimed(model: string, id: string): PrimedRow | undefined {
  const rows = storage.getStore()?.primed;
  const key = keyOf(model, id);
  const row = rows?.get(key);
  if (row) rows!.delete(key);
  return row;
}

/** Defers a consume to the scope's next token insert; false outside a scope or with one already waiting. */
export function deferConsume(consume: DeferredConsume): boolean {
  const scope = storage.getStore();
  if (!scope || scope.consume) return false;
  scope.consume = consume;
  return true;
}

export function takeDeferredConsume(): DeferredConsume | undefined {
  const scope = storage.getStore();
  const consume = scope?.consume;
  if (scope) scope.consume = undefined;
  return consume;
}
