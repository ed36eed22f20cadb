// A token request's consume (src/storage/request_scope.ts): inside a request scope the consume of a
// refresh token or code is made by the statement that inserts the first token issued for it, so the
// two commit together or not at all; and that statement takes its locks in the order a revocation
// takes them (grant, then tokens), so a revocation racing it never deadlocks. Run on every database
// this run can reach; the lock-order case needs two connections, so PostgreSQL only.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { type AdapterPayload, errors } from 'oidc-provider';
import { createStorageFactory } from '../../src/adapter/knex_adapter.ts';
import { withRequestScope } from '../../src/storage/request_scope.ts';
import { createLogger } from '../../src/logger.ts';
import { CLOCK_TOLERANCE } from '../../src/provider/configuration.ts';
import { revokingAdapters } from '../../src/provider/library_revocations.ts';
import { createRevocationService, type RevocationService } from '../../src/revocation/revocation_service.ts';
import { clientSecretCodec } from '../../src/secrets/client_secrets.ts';
import { Keyring } from '../../src/secrets/keyring.ts';
import { hashTokenValue } from '../../src/storage/token_hash.ts';
import { availableKinds, createTestDatabase, type TestDatabase } from '../support/database.ts';
import { rejection } from '../support/rejection.ts';

const newId = () => randomBytes(32).toString('base64url');
const epoch = (offset = 0) => Math.floor(Date.now() / 1000) + offset;

for (const kind of availableKinds()) {
  describe(`a token request's consume (${kind})`, function () {
    let database: TestDatabase;
    let revocation: RevocationService;
    let statements: string[] = [];

    before(async () => {
      database = await createTestDatabase(kind);
      revocation = createRevocationService(database.db, createLogger('silent'));
      database.db.on('query', (query: { sql: string }) => statements.push(query.sql));
    });
    after(() => database?.close());

    const clientCodec = clientSecretCodec(new Keyring([randomBytes(32)]));
    const adapter = (name: string) => revokingAdapters(createStorageFactory(database.db, { clockTolerance: CLOCK_TOLERANCE, clientCodec }), revocation)(name);

    async function grantWithRefreshToken(): Promise<{ grant: AdapterPayload; refresh: AdapterPayload }> {
      const grant: AdapterPayload = { jti: newId(), kind: 'Grant', clientId: `client-${newId()}`, accountId: `account-${newId()}`, iat: epoch(), exp: epoch(3600) };
      await adapter('Grant').upsert(grant.jti!, grant, 3600);
      const refresh = tokenOf('RefreshToken', grant);
      await adapter('RefreshToken').upsert(refresh.jti!, refresh, 600);
      return { grant, refresh };
    }

    function tokenOf(model: string, grant: AdapterPayload): AdapterPayload {
      return { jti: newId(), kind: model, grantId: grant.jti, clientId: grant.clientId, accountId: grant.accountId, scope: 'mcp:read', iat: epoch(), exp: epoch(600) };
    }

    /** What a refresh does to storage: read the token, consume it, store its successor. */
    async function rotate(refresh: AdapterPayload, grant: AdapterPayload, beforeInsert?: () => Promise<void>): Promise<AdapterPayload> {
      return withRequestScope(async () => {
        expect(await adapter('RefreshToken').find(refresh.jti!)).to.include({ jti: refresh.jti });
        await adapter('RefreshToken').consume(refresh.jti!);
        await beforeInsert?.();
        const successor = tokenOf('RefreshToken', grant);
        await adapter('RefreshToken').upsert(successor.jti!, successor, 600);
        return successor;
      });
    }

    const consumedAt = async (token: AdapterPayload) =>
      (await database.db('oidc_tokens').where({ id_hash: hashTokenValue(token.jti!) }).first('consumed_at'))?.consumed_at ?? null;

    it('is made by the insert of the successor: one statement, both committed', async () => {
      const { grant, refresh } = await grantWithRefreshToken();
      let writes: string[] = [];
      statements = [];
      const successor = await rotate(refresh, grant, async () => {
        writes = statements;
        statements = [];
      });
      expect(statements, statements.join('\n')).to.have.length(1);
      expect(writes.filter((sql) => /\bupdate\b/i.test(sql)), 'no write before the successor').to.have.length(0);
      expect(await consumedAt(refresh)).to.not.equal(null);
      expect((await adapter('RefreshToken').find(refresh.jti!))?.consumed).to.be.a('number');
      expect(await adapter('RefreshToken').find(successor.jti!)).to.include({ jti: successor.jti, grantId: grant.jti });
    });

    it('is dropped when the request issues no token: the refresh token stays usable', async () => {
      const { refresh } = await grantWithRefreshToken();
      const failure = new Error('the request failed after the consume');
      const error = await rejection(
        withRequestScope(async () => {
          await adapter('RefreshToken').consume(refresh.jti!);
          throw failure;
        }),
      );
      expect(error).to.equal(failure);
      expect(await consumedAt(refresh)).to.equal(null);
      expect((await adapter('RefreshToken').find(refresh.jti!))?.consumed).to.equal(undefined);
    });

    it('outside a request scope is made at once, as before', async () => {
      const { refresh } = await grantWithRefreshToken();
      await adapter('RefreshToken').consume(refresh.jti!);
      expect(await consumedAt(refresh)).to.not.equal(null);
    });

    it('of concurrent rotations of one refresh token, one wins; the losers are reuse and end the grant', async () => {
      const { grant, refresh } = await grantWithRefreshToken();
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => rotate(refresh, grant)));
      const won = results.filter((result) => result.status === 'fulfilled');
      expect(won).to.have.length(1);
      for (const result of results) {
        if (result.status === 'rejected') expect(result.reason).to.be.instanceOf(errors.InvalidGrant);
      }
      expect(await adapter('Grant').find(grant.jti!), 'grant after reuse').to.equal(undefined);
      expect(await database.db('oidc_tokens').where({ grant_id: grant.jti }).first()).to.equal(undefined);
    });

    it('after its grant was revoked inserts nothing and answers invalid_grant', async () => {
      const { grant, refresh } = await grantWithRefreshToken();
      let successorId: string | undefined;
      const error = await rejection(
        withRequestScope(async () => {
          await adapter('RefreshToken').consume(refresh.jti!);
          await revocation.revokeGrant(grant.jti!, { actor: { type: 'operator', id: 'test' } });
          const successor = tokenOf('RefreshToken', grant);
          successorId = successor.jti;
          await adapter('RefreshToken').upsert(successor.jti!, successor, 600);
        }),
      );
      expect(error).to.be.instanceOf(errors.InvalidGrant);
      expect((error as errors.InvalidGrant).error_detail).to.match(/revoked/);
      expect(await database.db('oidc_tokens').where({ id_hash: hashTokenValue(successorId!) }).first()).to.equal(undefined);
    });

    if (kind === 'postgres') {
      it('waits for a revocation holding the grant and then fails, with no deadlock (the revocation commits)', async () => {
        const { grant, refresh } = await grantWithRefreshToken();
        // A revocation's order (storage/revocation_store.ts): lock the grant, then delete its tokens.
        const revoking = await database.db.transaction();
        try {
          await revoking('oidc_grants').where({ id: grant.jti }).forUpdate().select('id');
          const rotation = rotate(refresh, grant).then(
            () => 'rotated',
            (error: unknown) => error,
          );
          await waitForLockWait();
          await revoking('oidc_tokens').where({ grant_id: grant.jti }).delete();
          await revoking('oidc_grants').where({ id: grant.jti }).delete();
          await revoking.commit();
          const outcome = await rotation;
          expect(outcome).to.be.instanceOf(errors.InvalidGrant);
          expect((outcome as errors.InvalidGrant).error_detail).to.match(/revoked/);
        } finally {
          if (!revoking.isCompleted()) await revoking.rollback();
        }
        expect(await database.db('oidc_tokens').where({ grant_id: grant.jti }).first()).to.equal(undefined);
      });
    }

    /** Until another session of this database waits on a row lock. */
    async function waitForLockWait(): Promise<void> {
      for (let attempt = 0; attempt < 200; attempt += 1) {
        const { rows } = await database.db.raw<{ rows: { waiting: number }[] }>(
          "select count(*)::int as waiting from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
        );
        if (rows[0]!.waiting > 0) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error('the rotation never waited for the revocation');
    }
  });
}
