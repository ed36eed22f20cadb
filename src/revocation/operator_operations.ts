// What an operator may do to clients and accounts, whichever surface asks (the CLI, the admin API):
// the targets are resolved and checked here, once, then handed to the revocation service. A surface
// only turns OperatorTargetNotFound into its own answer (a CLI error line, a 404).
import { type Account, findAccountByIdOrEmail } from '../storage/account_store.ts';
import type { Database } from '../db/connect.ts';
import { type ClientSummary, findClient, isClientDisabled, isKnownClientId } from '../storage/client_store.ts';
import { type GrantSummary, listGrants } from '../storage/grant_store.ts';
import type { RevocationOptions, RevocationOutcome, RevocationService } from './revocation_service.ts';

/** The client or account an operator named does not exist. */
export class OperatorTargetNotFound extends Error {
  override name = 'OperatorTargetNotFound';
}

export interface ClientView {
  client: ClientSummary | undefined;
  disabled: boolean;
  grants: GrantSummary[];
}

export interface OperatorOperations {
  /** An account, from its id or its email. */
  findAccount(idOrEmail: string): Promise<Account>;
  /** An account's id, from its id or its email. */
  resolveAccount(idOrEmail: string): Promise<string>;
  /** Refuses a client id that names no client an operator may address. */
  requireKnownClient(clientId: string): Promise<void>;
  showClient(clientId: string): Promise<ClientView>;
  /** All of a client's grants, or only those of the named accounts (ids or emails). */
  revokeClient(clientId: string, options: RevocationOptions & { accounts?: string[] | undefined }): Promise<RevocationOutcome>;
  /** All of an account's grants, or only those with one client. */
  revokeAccount(idOrEmail: string, options: RevocationOptions & { clientId?: string | undefined }): Promise<RevocationOutcome>;
  disableClient(clientId: string, options: RevocationOptions): Promise<RevocationOutcome>;
  /** Unguarded: enabling a client that is not disabled changes nothing. */
  enableClient(clientId: string, options: RevocationOptions): Promise<RevocationOutcome>;
  deleteClient(clientId: string, options: RevocationOptions): Promise<RevocationOutcome>;
}

export function operatorOperations(db: Database, revocation: RevocationService): OperatorOperations {
  async function findAccount(idOrEmail: string): Promise<Account> {
    const account = await findAccountByIdOrEmail(db, idOrEmail);
    if (!account) throw new OperatorTargetNotFound(`no account ${JSON.stringify(idOrEmail)}`);
    return account;
  }

  async function resolveAccount(idOrEmail: string): Promise<string> {
    return (await findAccount(idOrEmail)).id;
  }

  async function requireKnownClient(clientId: string): Promise<void> {
    if (!(await isKnownClientId(db, clientId))) throw new OperatorTargetNotFound(`no client ${JSON.stringify(clientId)}`);
  }

  return {
    findAccount,
    resolveAccount,
    requireKnownClient,

    async showClient(clientId) {
      const [client, disabled] = await Promise.all([findClient(db, clientId), isClientDisabled(db, clientId)]);
      if (!client && !disabled) throw new OperatorTargetNotFound(`no client ${JSON.stringify(clientId)}`);
      return { client, disabled, grants: await listGrants(db, { clientId }) };
    },

    async revokeClient(clientId, { accounts, ...options }) {
      await requireKnownClient(clientId);
      const accountIds = await Promise.all((accounts ?? []).map(resolveAccount));
      return revocation.revokeClient(clientId, { ...options, accountIds });
    },

    async revokeAccount(idOrEmail, options) {
      const accountId = await resolveAccount(idOrEmail);
      if (options.clientId !== undefined) await requireKnownClient(options.clientId);
      return revocation.revokeAccount(accountId, options);
    },

    async disableClient(clientId, options) {
      await requireKnownClient(clientId);
      return revocation.disableClient(clientId, options);
    },

    enableClient: (clientId, options) => revocation.enableClient(clientId, options),

    async deleteClient(clientId, options) {
      await requireKnownClient(clientId);
      return revocation.deleteClient(clientId, options);
    },
  };
}
