// What the adapter may do within one request instead of one statement per library call: the
// assembly runs each provider request and each token verification in a scope (`withRequestScope`).
// - Primed reads: a token read returns the rows the request reads next: its grant's; a refresh token's
//   or code's account and resource; an access token's client with its disabled mark (and its account
//   when the scope says the request will want it). The finds that follow in the same request (the
//   library's Grant and Client finds, findAccount, the resource lookup) take them instead of sending
//   more statements. Only what the token's read found is primed where a miss could differ from the
//   find's answer (a resource indicator spelled another way).
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
  /** A model's payload, or a table row as `to_jsonb` gives it (accounts, resources). */
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

export interface RequestScopeOptions {
  /** The request reads the access token's account after verifying it (an MCP tool call). */
  readsAccount?: boolean;
}

interface RequestScope {
  primed: Map<string, PrimedRow>;
  consume: DeferredConsume | undefined;
  readsAccount: boolean;
}

const storage = new AsyncLocalStorage<RequestScope>();

const keyOf = (model: string, id: string) => `${model}\0${id}`;

/** Runs `request` in a fresh scope, dropped when it settles; inside a scope already, in that one. */
export function withRequestScope<T>(request: () => Promise<T>, options: RequestScopeOptions = {}): Promise<T> {
  if (storage.getStore()) return request();
  return storage.run({ primed: new Map(), consume: undefined, readsAccount: options.readsAccount ?? false }, request);
}

export function inRequestScope(): boolean {
  return storage.getStore() !== undefined;
}

export function scopeReadsAccount(): boolean {
  return storage.getStore()?.readsAccount ?? false;
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
