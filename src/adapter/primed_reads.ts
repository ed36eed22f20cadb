// The reads of one access-token verification, answered by one statement. Inside `withPrimedReads`
// the AccessToken read also returns the token's grant and client rows (and the client's disabled mark);
// the Grant and Client reads the library makes next, in the same verification, take them from here
// instead of sending two more statements. Nothing outlives the call: every verification reads the
// database again, so a revocation or a disabled client shows on the very next request.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AdapterPayload } from 'oidc-provider';

/** A row read ahead for a model's next find: absent (`payload` undefined) is an answer too. */
export interface PrimedRow {
  payload: AdapterPayload | undefined;
  /** Clients only: the client is marked disabled. */
  disabled?: boolean;
}

const scope = new AsyncLocalStorage<Map<string, PrimedRow>>();

const keyOf = (model: string, id: string) => `${model}\0${id}`;

/** Runs `read` with a fresh scope of primed rows, dropped when it settles. */
export function withPrimedReads<T>(read: () => Promise<T>): Promise<T> {
  return scope.run(new Map(), read);
}

export function primingReads(): boolean {
  return scope.getStore() !== undefined;
}

export function prime(model: string, id: string, row: PrimedRow): void {
  scope.getStore()?.set(keyOf(model, id), row);
}

/** The row primed for this find, used once (a second find reads the database). */
export function takePrimed(model: string, id: string): PrimedRow | undefined {
  const rows = scope.getStore();
  const row = rows?.get(keyOf(model, id));
  if (row) rows!.delete(keyOf(model, id));
  return row;
}
