// The only place that revokes. Every path — the library's events (/revoke, reuse detection, RFC 7592
// DELETE, a script's Grant.destroy(), through provider/library_revocations.ts), the CLI, the admin
// API, the account pages — ends here, so the cascades
// agree and each revocation is audited once, in the transaction that performs it. The operator
// operations that revoke (disabling or deleting a client or an account) live here for the same reason.
import type { Knex } from 'knex';
import type { Database } from '../db/connect.ts';
import type { Logger } from '../logger.ts';
import { deleteAccountRow, markAccountDisabled, markAccountEnabled } from '../storage/account_store.ts';
import { deleteNotesOf } from '../storage/note_store.ts';
import { type Actor, recordAudit } from '../storage/audit_store.ts';
import { isMetadataDocumentClientId, markClientDisabled, markClientEnabled } from '../storage/client_store.ts';
import {
  deleteAccountRecords,
  deleteClientData,
  deleteGrantlessTokens,
  deleteTokenByHash,
  endAccountSessions,
  findTokenByHash,
  type BatchOptions,
  mergeCounts,
  type RevocationCounts,
  revokeGrants,
} from '../storage/revocation_store.ts';
import { hashTokenValue } from '../storage/token_hash.ts';
import { deleteResourceRow, findResource } from '../storage/resource_store.ts';
import { removeResourceServerClients, resourceServerClientIds } from '../storage/resource_server_store.ts';
import { recordRevocation } from '../observability/metrics.ts';

export type { Actor } from '../storage/audit_store.ts';
export type { RevocationCounts } from '../storage/revocation_store.ts';

export interface RevocationOptions {
  actor: Actor;
  reason?: string | undefined;
  /** Run everything, report the counts, then roll back. */
  dryRun?: boolean | undefined;
  /** Progress of large revocations: grants revoked so far, of the total selected. */
  onProgress?: ((done: number, total: number) => void) | undefined;
  /**
   * An operator naming a grant or token that does not exist gets RevocationTargetNotFound (nothing
   * audited) instead of RFC 7009's quiet success, which stays the rule for clients at /revoke.
   */
  requireTarget?: boolean | undefined;
}

/** The grant, token or account named does not exist (or is already gone); nothing was changed. */
export class RevocationTargetNotFound extends Error {
  override name = 'RevocationTargetNotFound';
}

export interface RevocationOutcome {
  action: string;
  target: Record<string, unknown>;
  counts: RevocationCounts;
  dryRun: boolean;
  auditId?: number;
}

class DryRunRollback extends Error {}

export interface RevocationService {
  revokeToken(tokenOrJti: string, options: RevocationOptions): Promise<RevocationOutcome>;
  revokeGrant(grantId: string, options: RevocationOptions): Promise<RevocationOutcome>;
  revokeClient(clientId: string, options: RevocationOptions & { accountIds?: string[] | undefined }): Promise<RevocationOutcome>;
  /** Every grant of the account (of one client with `clientId`); across all clients the account's
   *  browser sessions end too, unless `keepSessions` (a user disconnecting all apps stays signed in). */
  revokeAccount(
    accountId: string,
    options: RevocationOptions & { clientId?: string | undefined; keepSessions?: boolean | undefined },
  ): Promise<RevocationOutcome>;
  /** Signs the account out of every browser; its apps keep their grants (a password change). */
  endSessions(accountId: string, options: RevocationOptions): Promise<RevocationOutcome>;
  deleteClient(clientId: string, options: RevocationOptions): Promise<RevocationOutcome>;
  disableClient(clientId: string, options: RevocationOptions): Promise<RevocationOutcome>;
  enableClient(clientId: string, options: RevocationOptions): Promise<RevocationOutcome>;
  /** Revokes everything the account holds, signs it out everywhere and refuses it until enabled. */
  disableAccount(accountId: string, options: RevocationOptions): Promise<RevocationOutcome>;
  enableAccount(accountId: string, options: RevocationOptions): Promise<RevocationOutcome>;
  /** Revokes everything, then erases the account's personal data: its row (email, password hash) and its notes. */
  deleteAccount(accountId: string, options: RevocationOptions): Promise<RevocationOutcome>;
  /**
   * Unregisters a protected resource (a normalized URL): every grant holding scopes for it is revoked
   * with its tokens, its resource-server clients are deleted, then its registry row.
   */
  removeResource(resource: string, options: RevocationOptions): Promise<RevocationOutcome>;
}

function batching(options: RevocationOptions): BatchOptions {
  return options.onProgress ? { onProgress: options.onProgress } : {};
}

function noAccount(accountId: string): RevocationTargetNotFound {
  return new RevocationTargetNotFound(`no account ${JSON.stringify(accountId)}`);
}

export function createRevocationService(db: Database, logger: Logger): RevocationService {
  async function run(
    action: string,
    target: Record<string, unknown>,
    options: RevocationOptions,
    work: (trx: Knex.Transaction) => Promise<RevocationCounts>,
  ): Promise<RevocationOutcome> {
    let outcome: RevocationOutcome | undefined;
    try {
      await db.transaction(async (trx) => {
        const counts = await work(trx);
        outcome = { action, target, counts, dryRun: options.dryRun === true };
        if (options.dryRun) throw new DryRunRollback();
        outcome.auditId = await recordAudit(trx, { actor: options.actor, action, target, reason: options.reason, counts });
      });
    } catch (error) {
      if (!(error instanceof DryRunRollback)) throw error;
    }
    const result = outcome!;
    if (!result.dryRun) recordRevocation(action, options.actor.type, result.counts);
    if (!result.dryRun && result.auditId !== undefined) {
      logger.info({ audit: { ...result, actor: options.actor, reason: options.reason } }, 'revocation');
    }
    return result;
  }

  return {
    revokeToken(tokenOrJti, options) {
      // Opaque tokens are their jti; only the hash is stored and only a prefix of it is audited.
      const idHash = hashTokenValue(tokenOrJti);
      const target: Record<string, unknown> = { tokenHash: idHash.slice(0, 16) };
      return run('revoke_token', target, options, async (trx) => {
        const token = await findTokenByHash(trx, idHash);
        if (!token && options.requireTarget) throw new RevocationTargetNotFound('no such token (unknown, expired and purged, or already revoked)');
        if (!token) return {};
        Object.assign(target, { model: token.model, grantId: token.grantId, clientId: token.clientId });
        // Revoking a token ends the grant it belongs to: its other tokens go with it (RFC 7009 §2.1).
        return token.grantId ? revokeGrants(trx, { grantIds: [token.grantId] }) : deleteTokenByHash(trx, idHash);
      });
    },

    revokeGrant(grantId, options) {
      return run('revoke_grant', { grantId }, options, async (trx) => {
        const counts = await revokeGrants(trx, { grantIds: [grantId] });
        if (!counts.Grant && options.requireTarget) {
          throw new RevocationTargetNotFound(`no such grant ${JSON.stringify(grantId)} (unknown or already revoked)`);
        }
        return counts;
      });
    },

    revokeClient(clientId, options) {
      const accountIds = options.accountIds?.length ? options.accountIds : undefined;
      return run('revoke_client', { clientId, ...(accountIds ? { accountIds } : {}) }, options, async (trx) => {
        const grants = await revokeGrants(trx, { clientId, ...(accountIds ? { accountIds } : {}) }, batching(options));
        return accountIds ? grants : mergeCounts(grants, await deleteGrantlessTokens(trx, clientId));
      });
    },

    revokeAccount(accountId, options) {
      const { clientId } = options;
      return run('revoke_account', { accountId, ...(clientId ? { clientId } : {}) }, options, async (trx) => {
        const grants = await revokeGrants(trx, { accountIds: [accountId], ...(clientId ? { clientId } : {}) }, batching(options));
        // Across every client, the account is also signed out everywhere.
        return clientId || options.keepSessions ? grants : mergeCounts(grants, await endAccountSessions(trx, accountId));
      });
    },

    endSessions(accountId, options) {
      return run('end_sessions', { accountId }, options, (trx) => endAccountSessions(trx, accountId));
    },

    deleteClient(clientId, options) {
      return run('delete_client', { clientId }, options, async (trx) => {
        const counts = await deleteClientData(trx, clientId, batching(options));
        // A metadata-document client has no registration to delete: it would be back at its next
        // request. Deleted, it stays refused like a disabled one (until `clients enable`).
        if (isMetadataDocumentClientId(clientId)) await markClientDisabled(trx, clientId, options.reason ?? 'deleted');
        return counts;
      });
    },

    disableClient(clientId, options) {
      return run('disable_client', { clientId }, options, async (trx) => {
        await markClientDisabled(trx, clientId, options.reason);
        const grants = await revokeGrants(trx, { clientId }, batching(options));
        return mergeCounts(grants, await deleteGrantlessTokens(trx, clientId));
      });
    },

    enableClient(clientId, options) {
      return run('enable_client', { clientId }, options, async (trx) => {
        await markClientEnabled(trx, clientId);
        return {};
      });
    },

    disableAccount(accountId, options) {
      return run('disable_account', { accountId }, options, async (trx) => {
        if (!(await markAccountDisabled(trx, accountId))) throw noAccount(accountId);
        const grants = await revokeGrants(trx, { accountIds: [accountId] }, batching(options));
        return mergeCounts(grants, await endAccountSessions(trx, accountId));
      });
    },

    enableAccount(accountId, options) {
      return run('enable_account', { accountId }, options, async (trx) => {
        if (!(await markAccountEnabled(trx, accountId))) throw noAccount(accountId);
        return {};
      });
    },

    deleteAccount(accountId, options) {
      // The audit row keeps the account id only: the email goes with the account.
      return run('delete_account', { accountId }, options, async (trx) => {
        const grants = await revokeGrants(trx, { accountIds: [accountId] }, batching(options));
        const records = await deleteAccountRecords(trx, accountId);
        const notes = await deleteNotesOf(trx, accountId);
        if (!(await deleteAccountRow(trx, accountId))) throw noAccount(accountId);
        return mergeCounts(grants, records, { Note: notes, Account: 1 });
      });
    },

    removeResource(resource, options) {
      return run('remove_resource', { resource }, options, async (trx) => {
        if (!(await findResource(trx, resource))) throw new RevocationTargetNotFound(`no resource ${JSON.stringify(resource)}`);
        let counts = await revokeGrants(trx, { resource }, batching(options));
        const clientIds = await resourceServerClientIds(trx, resource);
        for (const clientId of clientIds) counts = mergeCounts(counts, await deleteClientData(trx, clientId));
        await removeResourceServerClients(trx, clientIds);
        await deleteResourceRow(trx, resource);
        return mergeCounts(counts, { Resource: 1 });
      });
    },
  };
}
