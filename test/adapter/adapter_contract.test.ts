// The adapter contract, run against every database this run can reach (always the embedded PGlite,
// PostgreSQL when DATABASE_URL is set). Ports the semantics of node-oidc-provider's memory adapter
// tests and adds this product's guarantees: hashed bearer keys, atomic consume with reuse
// detection, cascading Grant/Client destroy with tombstones, and a lenient janitor.
import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { type AdapterPayload, errors } from 'oidc-provider';
import { createStorageFactory } from '../../src/adapter/knex_adapter.ts';
import { revokingAdapters } from '../../src/provider/library_revocations.ts';
import { createLogger } from '../../src/logger.ts';
import { CLOCK_TOLERANCE } from '../../src/provider/configuration.ts';
import { clientSecretCodec } from '../../src/secrets/client_secrets.ts';
import { Keyring } from '../../src/secrets/keyring.ts';
import { createRevocationService, type RevocationService } from '../../src/revocation/revocation_service.ts';
import { purgeExpired } from '../../src/storage/janitor.ts';
import { availableKinds, createTestDatabase, type TestDatabase } from '../support/database.ts';
import { rejection } from '../support/rejection.ts';

/** Models keyed by a hash of their id (everything but Grant and Client). */
const GRANT_BOUND = ['AccessToken', 'RefreshToken', 'AuthorizationCode'] as const;
const HASHED = [...GRANT_BOUND, 'ClientCredentials', 'RegistrationAccessToken', 'Session', 'Interaction'] as const;
const ALL_MODELS = ['Grant', 'Client', ...HASHED] as const;
type ModelName = (typeof ALL_MODELS)[number];

/** A value shaped like the library's ids (nanoid, 43 url-safe characters). */
function newId(): string {
  return randomBytes(32).toString('base64url');
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

function epoch(offsetSeconds = 0): number {
  return Math.floor(Date.now() / 1000) + offsetSeconds;
}

/** Where a model's row lives and how its key is written, as the migration lays it out. */
function rowLocation(model: string, id: string): { table: string; where: Record<string, string> } {
  if (model === 'Grant') return { table: 'oidc_grants', where: { id } };
  if (model === 'Client') return { table: 'oidc_models', where: { model, id } };
  if (['AccessToken', 'RefreshToken', 'AuthorizationCode', 'ClientCredentials'].includes(model)) {
    return { table: 'oidc_tokens', where: { model, id_hash: sha256(id) } };
  }
  return { table: 'oidc_models', where: { model, id: sha256(id) } };
}

for (const kind of availableKinds()) {
  describe(`KnexAdapter contract (${kind})`, function () {
    let database: TestDatabase;
    let revocation: RevocationService;

    before(async () => {
      database = await createTestDatabase(kind);
      revocation = createRevocationService(database.db, createLogger('silent'));
    });
    after(() => database?.close());

    const clientCodec = clientSecretCodec(new Keyring([randomBytes(32)]));
    // The provider's adapter as the server builds it: storage, with the library's revocations bridged.
    const adapter = (name: string) => revokingAdapters(createStorageFactory(database.db, { clockTolerance: CLOCK_TOLERANCE, clientCodec }), revocation)(name);

    async function setExpiry(model: string, id: string, expiresAt: Date | null): Promise<void> {
      const { table, where } = rowLocation(model, id);
      const updated = await database.db(table).where(where).update({ expires_at: expiresAt });
      expect(updated, `${model} row to update`).to.equal(1);
    }

    async function rowExists(model: string, id: string): Promise<boolean> {
      const { table, where } = rowLocation(model, id);
      return (await database.db(table).where(where).first()) !== undefined;
    }

    async function createGrant(clientId = `client-${newId()}`, accountId = `account-${newId()}`): Promise<AdapterPayload> {
      const id = newId();
      const payload: AdapterPayload = {
        jti: id,
        kind: 'Grant',
        clientId,
        accountId,
        iat: epoch(),
        exp: epoch(3600),
        resources: { 'http://localhost:3001/mcp': 'mcp:read' },
      };
      await adapter('Grant').upsert(id, payload, 3600);
      return payload;
    }

    /** A payload of the given model as the library would store it (grant-bound models need `grant`). */
    function payloadFor(model: ModelName, grant?: AdapterPayload, id = newId()): AdapterPayload {
      const base = { jti: id, kind: model, iat: epoch(), exp: epoch(600) };
      switch (model) {
        case 'Grant':
          return { ...base, clientId: `client-${newId()}`, accountId: `account-${newId()}` };
        case 'Client':
          return { client_id: id, client_name: 'Contract client', redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' };
        case 'AccessToken':
        case 'RefreshToken':
        case 'AuthorizationCode':
          if (!grant) throw new Error(`${model} needs a grant`);
          return {
            ...base,
            grantId: grant.jti,
            clientId: grant.clientId,
            accountId: grant.accountId,
            scope: 'mcp:read',
            sessionUid: `uid-${newId()}`,
            ...(model === 'AuthorizationCode' ? { codeChallenge: newId(), codeChallengeMethod: 'S256', redirectUri: 'http://127.0.0.1/cb' } : {}),
          };
        case 'ClientCredentials':
          return { ...base, clientId: grant?.clientId ?? `client-${newId()}`, scope: 'mcp:read', aud: 'http://localhost:3001/mcp' };
        case 'RegistrationAccessToken':
          return { ...base, clientId: grant?.clientId ?? `client-${newId()}` };
        case 'Session':
          return { ...base, uid: newId(), accountId: `account-${newId()}`, loginTs: epoch(), authorizations: {} };
        case 'Interaction':
          return {
            ...base,
            params: { client_id: 'some-client', scope: 'mcp:read' },
            prompt: { name: 'login', reasons: ['no_session'], details: {} },
            returnTo: `http://127.0.0.1:3000/authorize/${id}`,
          } as AdapterPayload;
      }
    }

    /** Stores a new payload of `model`; `expiresIn: null` stores it without expiry. */
    async function store(model: ModelName, grant?: AdapterPayload, expiresIn: number | null = 600): Promise<AdapterPayload> {
      const payload = payloadFor(model, grant);
      const id = model === 'Client' ? String(payload.client_id) : payload.jti!;
      await adapter(model).upsert(id, payload, expiresIn ?? undefined);
      return payload;
    }

    const idOf = (model: ModelName, payload: AdapterPayload): string =>
      model === 'Client' ? String(payload.client_id) : payload.jti!;

    describe('upsert, find, destroy', () => {
      for (const model of ALL_MODELS) {
        it(`${model}: find returns the stored payload with its original id; re-upsert overwrites; destroy removes`, async () => {
          const grant = await createGrant();
          const payload = model === 'Grant' ? grant : await store(model, grant);
          const id = idOf(model, payload);

          expect(await adapter(model).find(id)).to.deep.equal(payload);
          expect(await adapter(model).find(newId())).to.equal(undefined);
          // Another model name never sees this row.
          const other = model === 'AccessToken' ? 'RefreshToken' : 'AccessToken';
          expect(await adapter(other).find(id)).to.equal(undefined);

          const changed = { ...payload, iat: epoch(1), extra: { changed: true } } as AdapterPayload;
          await adapter(model).upsert(id, changed, 600);
          expect(await adapter(model).find(id)).to.deep.equal(changed);

          await adapter(model).destroy(id);
          expect(await adapter(model).find(id)).to.equal(undefined);
          expect(await rowExists(model, id)).to.equal(false);
        });
      }

      it('an upsert without expiresIn never expires', async () => {
        const client = await store('Client', undefined, null);
        const token = await store('RegistrationAccessToken', undefined, null);
        const { table, where } = rowLocation('Client', idOf('Client', client));
        expect((await database.db(table).where(where).first()).expires_at).to.equal(null);
        expect(await adapter('Client').find(idOf('Client', client))).to.deep.equal(client);
        expect(await adapter('RegistrationAccessToken').find(token.jti!)).to.deep.equal(token);
      });
    });

    describe('expiry (lenient by the clock tolerance)', () => {
      for (const model of ALL_MODELS) {
        it(`${model}: found within the tolerance after expiry, not found beyond it`, async () => {
          const grant = await createGrant();
          const payload = model === 'Grant' ? grant : await store(model, grant);
          const id = idOf(model, payload);

          await setExpiry(model, id, new Date(Date.now() - (CLOCK_TOLERANCE - 5) * 1000));
          expect(await adapter(model).find(id), 'within tolerance').to.deep.equal(payload);

          await setExpiry(model, id, new Date(Date.now() - (CLOCK_TOLERANCE + 5) * 1000));
          expect(await adapter(model).find(id), 'beyond tolerance').to.equal(undefined);
        });
      }

      it('expires for real: a 1 second row is gone after 1 s + tolerance (simulated by moving expires_at)', async () => {
        const grant = await createGrant();
        const token = payloadFor('AccessToken', grant);
        await adapter('AccessToken').upsert(token.jti!, token, 1);
        const { table, where } = rowLocation('AccessToken', token.jti!);
        const row = await database.db(table).where(where).first();
        const expiresAt = new Date(row.expires_at).getTime();
        expect(expiresAt - Date.now()).to.be.within(0, 1500);
        expect(await adapter('AccessToken').find(token.jti!)).to.deep.equal(token);
        await setExpiry('AccessToken', token.jti!, new Date(expiresAt - (CLOCK_TOLERANCE + 2) * 1000));
        expect(await adapter('AccessToken').find(token.jti!)).to.equal(undefined);
      });
    });

    describe('Session.findByUid', () => {
      it('finds a session by uid, follows a uid change, and forgets expired or destroyed sessions', async () => {
        const sessions = adapter('Session');
        const session = payloadFor('Session');
        await sessions.upsert(session.jti!, session, 600);
        expect(await sessions.findByUid(session.uid!)).to.deep.include({ uid: session.uid, accountId: session.accountId });
        expect(await sessions.findByUid(newId())).to.equal(undefined);

        const renamed = { ...session, uid: newId() };
        await sessions.upsert(session.jti!, renamed, 600);
        expect(await sessions.findByUid(session.uid!), 'old uid').to.equal(undefined);
        expect(await sessions.findByUid(renamed.uid)).to.deep.include({ uid: renamed.uid, accountId: session.accountId });

        await setExpiry('Session', session.jti!, new Date(Date.now() - (CLOCK_TOLERANCE - 5) * 1000));
        expect(await sessions.findByUid(renamed.uid), 'within tolerance').to.not.equal(undefined);
        await setExpiry('Session', session.jti!, new Date(Date.now() - (CLOCK_TOLERANCE + 5) * 1000));
        expect(await sessions.findByUid(renamed.uid), 'expired').to.equal(undefined);

        await setExpiry('Session', session.jti!, new Date(Date.now() + 600_000));
        await sessions.destroy(session.jti!);
        expect(await sessions.findByUid(renamed.uid), 'destroyed').to.equal(undefined);
      });
    });

    describe('consume and reuse detection', () => {
      for (const model of ['AuthorizationCode', 'RefreshToken'] as const) {
        it(`${model}: consume marks the payload consumed and keeps it findable; a second consume revokes the grant`, async () => {
          const grant = await createGrant();
          const bystanderGrant = await createGrant(grant.clientId, grant.accountId);
          const token = await store(model, grant);
          const siblings = await Promise.all(GRANT_BOUND.map((name) => store(name, grant).then((payload) => ({ name, payload }))));
          const bystander = await store('AccessToken', bystanderGrant);

          await adapter(model).consume(token.jti!);
          const consumed = await adapter(model).find(token.jti!);
          expect(consumed).to.include({ jti: token.jti, grantId: grant.jti });
          expect(consumed?.consumed).to.be.ok;
          expect(await adapter('Grant').find(grant.jti!), 'grant after first consume').to.deep.equal(grant);

          const error = await rejection(adapter(model).consume(token.jti!));
          expect(error).to.be.instanceOf(errors.InvalidGrant);

          expect(await adapter('Grant').find(grant.jti!), 'grant after reuse').to.equal(undefined);
          expect(await adapter(model).find(token.jti!)).to.equal(undefined);
          for (const { name, payload } of siblings) {
            expect(await adapter(name).find(payload.jti!), `${name} of the reused grant`).to.equal(undefined);
          }
          expect(await database.db('oidc_tokens').where({ grant_id: grant.jti }).first()).to.equal(undefined);
          // The other grant of the same client and account is untouched.
          expect(await adapter('AccessToken').find(bystander.jti!)).to.deep.equal(bystander);
          expect(await adapter('Grant').find(bystanderGrant.jti!)).to.deep.equal(bystanderGrant);
        });
      }

      it('of concurrent consumes of one code exactly one wins and the others get InvalidGrant', async () => {
        const grant = await createGrant();
        const code = await store('AuthorizationCode', grant);
        const results = await Promise.allSettled(Array.from({ length: 10 }, () => adapter('AuthorizationCode').consume(code.jti!)));
        const won = results.filter((result) => result.status === 'fulfilled');
        expect(won).to.have.length(1);
        for (const result of results) {
          if (result.status === 'rejected') expect(result.reason).to.be.instanceOf(errors.InvalidGrant);
        }
        expect(await adapter('Grant').find(grant.jti!)).to.equal(undefined);
      });

      it('consuming a token that no longer exists fails with InvalidGrant', async () => {
        const error = await rejection(adapter('RefreshToken').consume(newId()));
        expect(error).to.be.instanceOf(errors.InvalidGrant);
      });
    });

    describe('revokeByGrantId', () => {
      // The library calls it once per grantable model for one event. This adapter ends the whole
      // grant on the first call (revocation service): every token of it, the Grant row, a tombstone.
      it('removes every token of that grant and the grant itself, and nothing of any other grant', async () => {
        const grant = await createGrant();
        const other = await createGrant(grant.clientId, grant.accountId);
        const tokens = {
          access: await store('AccessToken', grant),
          refresh: await store('RefreshToken', grant),
          code: await store('AuthorizationCode', grant),
          otherAccess: await store('AccessToken', other),
          otherRefresh: await store('RefreshToken', other),
        };

        await adapter('AccessToken').revokeByGrantId(grant.jti!);

        expect(await adapter('AccessToken').find(tokens.access.jti!)).to.equal(undefined);
        expect(await adapter('RefreshToken').find(tokens.refresh.jti!)).to.equal(undefined);
        expect(await adapter('AuthorizationCode').find(tokens.code.jti!)).to.equal(undefined);
        expect(await adapter('Grant').find(grant.jti!)).to.equal(undefined);
        expect(await rejection(adapter('Grant').upsert(grant.jti!, grant, 3600))).to.be.instanceOf(errors.InvalidGrant);

        expect(await adapter('AccessToken').find(tokens.otherAccess.jti!)).to.deep.equal(tokens.otherAccess);
        expect(await adapter('RefreshToken').find(tokens.otherRefresh.jti!)).to.deep.equal(tokens.otherRefresh);
        expect(await adapter('Grant').find(other.jti!)).to.deep.equal(other);

        // The library's following calls for the other models find nothing left and do no harm.
        await Promise.all(GRANT_BOUND.map((name) => adapter(name).revokeByGrantId(grant.jti!)));
        expect(await adapter('Grant').find(other.jti!)).to.deep.equal(other);
      });

      it('follows a token moved to another grant by a re-upsert', async () => {
        const first = await createGrant();
        const second = await createGrant(first.clientId, first.accountId);
        const token = payloadFor('AccessToken', first);
        await adapter('AccessToken').upsert(token.jti!, token, 600);
        const moved = { ...token, grantId: second.jti };
        await adapter('AccessToken').upsert(token.jti!, moved, 600);

        await adapter('RefreshToken').revokeByGrantId(first.jti!);
        expect(await adapter('AccessToken').find(token.jti!)).to.deep.equal(moved);
        await adapter('RefreshToken').revokeByGrantId(second.jti!);
        expect(await adapter('AccessToken').find(token.jti!)).to.equal(undefined);
      });
    });

    describe('Grant destroy', () => {
      it('removes every token of the grant and leaves a tombstone: the grant cannot come back, nor get new tokens', async () => {
        const grant = await createGrant();
        const other = await createGrant(grant.clientId, grant.accountId);
        const tokens = await Promise.all(
          [...GRANT_BOUND, ...GRANT_BOUND].map((name) => store(name, grant).then((payload) => ({ name, payload }))),
        );
        const survivor = await store('RefreshToken', other);

        await adapter('Grant').destroy(grant.jti!);

        expect(await adapter('Grant').find(grant.jti!)).to.equal(undefined);
        for (const { name, payload } of tokens) expect(await adapter(name).find(payload.jti!), name).to.equal(undefined);
        expect(await database.db('oidc_tokens').where({ grant_id: grant.jti }).first()).to.equal(undefined);
        expect(await database.db('oidc_revoked_grants').where({ grant_id: grant.jti }).first()).to.not.equal(undefined);
        expect(await adapter('RefreshToken').find(survivor.jti!)).to.deep.equal(survivor);
        expect(await adapter('Grant').find(other.jti!)).to.deep.equal(other);

        const reupsert = await rejection(adapter('Grant').upsert(grant.jti!, grant, 3600));
        expect(reupsert).to.be.instanceOf(errors.InvalidGrant);
        expect(await adapter('Grant').find(grant.jti!)).to.equal(undefined);

        for (const name of GRANT_BOUND) {
          const late = payloadFor(name, grant);
          const error = await rejection(adapter(name).upsert(late.jti!, late, 600));
          expect(error, `${name} for a destroyed grant`).to.be.instanceOf(errors.InvalidGrant);
          expect(await adapter(name).find(late.jti!)).to.equal(undefined);
        }
      });

      it('destroying an unknown grant is harmless', async () => {
        const grant = await createGrant();
        const tokens = await Promise.all(GRANT_BOUND.map((name) => store(name, grant).then((payload) => ({ name, payload }))));
        // Rows of every model, and audit rows: nothing removed, nothing recorded for a revocation of nothing.
        const tables = ['oidc_grants', 'oidc_tokens', 'oidc_models', 'revocation_audit'];
        const counts = async () => Object.fromEntries(await Promise.all(tables.map(async (table) => [table, Number((await database.db(table).count({ n: '*' }))[0]!.n)])));
        const before = await counts();

        await adapter('Grant').destroy(newId());

        expect(await counts()).to.deep.equal(before);
        expect(await adapter('Grant').find(grant.jti!)).to.deep.equal(grant);
        for (const { name, payload } of tokens) expect(await adapter(name).find(payload.jti!), name).to.deep.equal(payload);
      });
    });

    describe('Client destroy', () => {
      it('removes the client, its grants and their tokens, its client-credentials and registration tokens, nothing else', async () => {
        async function population() {
          const client = await store('Client', undefined, null);
          const clientId = idOf('Client', client);
          const grants = [await createGrant(clientId), await createGrant(clientId)];
          const tokens: { name: ModelName; payload: AdapterPayload }[] = [];
          for (const grant of grants) {
            for (const name of GRANT_BOUND) tokens.push({ name, payload: await store(name, grant) });
          }
          tokens.push({ name: 'ClientCredentials', payload: await store('ClientCredentials', grants[0]) });
          tokens.push({ name: 'RegistrationAccessToken', payload: await store('RegistrationAccessToken', grants[0], null) });
          return { client, clientId, grants, tokens };
        }
        const doomed = await population();
        const kept = await population();
        const session = await store('Session');

        await adapter('Client').destroy(doomed.clientId);

        expect(await adapter('Client').find(doomed.clientId)).to.equal(undefined);
        for (const grant of doomed.grants) expect(await adapter('Grant').find(grant.jti!)).to.equal(undefined);
        for (const { name, payload } of doomed.tokens) expect(await adapter(name).find(payload.jti!), name).to.equal(undefined);
        for (const table of ['oidc_tokens', 'oidc_models', 'oidc_grants']) {
          expect(await database.db(table).where({ client_id: doomed.clientId }).first(), table).to.equal(undefined);
        }
        // Its grants cannot be resurrected by an in-flight request.
        expect(await rejection(adapter('Grant').upsert(doomed.grants[0]!.jti!, doomed.grants[0]!, 3600))).to.be.instanceOf(errors.InvalidGrant);

        expect(await adapter('Client').find(kept.clientId)).to.deep.equal(kept.client);
        for (const grant of kept.grants) expect(await adapter('Grant').find(grant.jti!)).to.deep.equal(grant);
        for (const { name, payload } of kept.tokens) expect(await adapter(name).find(payload.jti!), name).to.deep.equal(payload);
        expect(await adapter('Session').find(session.jti!)).to.deep.equal(session);
      });
    });

    describe('secrets at rest', () => {
      async function dumpEverything(): Promise<string> {
        const tables = await database.db.raw<{ rows: { table_name: string }[] }>(
          `select table_name from information_schema.tables
           where table_schema = current_schema() and table_type = 'BASE TABLE'`,
        );
        expect(tables.rows.map((row) => row.table_name)).to.include.members(['oidc_tokens', 'oidc_models', 'oidc_grants']);
        const parts: string[] = [];
        for (const { table_name: table } of tables.rows) {
          const rows = await database.db.raw<{ rows: { row: string }[] }>('select t::text as row from ?? t', [table]);
          parts.push(...rows.rows.map((row) => row.row));
        }
        return parts.join('\n');
      }

      it('stores bearer-secret models under the SHA-256 of their id, with neither id nor jti anywhere in any row', async () => {
        const grant = await createGrant();
        const stored: { name: ModelName; payload: AdapterPayload }[] = [];
        for (const name of HASHED) stored.push({ name, payload: await store(name, grant) });

        const dump = await dumpEverything();
        expect(dump).to.include(grant.jti!); // the dump does see what is stored in clear
        for (const { name, payload } of stored) {
          expect(dump, `${name} id in the database`).to.not.include(payload.jti!);
          expect(await rowExists(name, payload.jti!), `${name} under sha256(id)`).to.equal(true);
          expect(await adapter(name).find(payload.jti!), `${name} restored`).to.deep.equal(payload);
        }
      });

      it('does not store the session cookie value an Interaction carries', async () => {
        const interaction = payloadFor('Interaction');
        const cookie = newId();
        const session = { accountId: `account-${newId()}`, uid: newId(), cookie };
        await adapter('Interaction').upsert(interaction.jti!, { ...interaction, session }, 600);

        expect(await dumpEverything()).to.not.include(cookie);
        const found = await adapter('Interaction').find(interaction.jti!);
        expect(found?.session).to.deep.equal({ accountId: session.accountId, uid: session.uid });
        expect(found?.returnTo).to.equal(interaction.returnTo);
      });
    });

    describe('janitor', () => {
      it('purges rows expired beyond the clock tolerance, keeps the rest, and reports counts', async () => {
        await purgeExpired(database.db, CLOCK_TOLERANCE); // leftovers of the cases above
        const past = (seconds: number) => new Date(Date.now() - seconds * 1000);
        const gone = past(CLOCK_TOLERANCE + 60);
        const lenient = past(CLOCK_TOLERANCE - 5);

        const grant = await createGrant();
        const expiredToken = await store('AccessToken', grant);
        const lenientToken = await store('RefreshToken', grant);
        const liveToken = await store('AuthorizationCode', grant);
        await setExpiry('AccessToken', expiredToken.jti!, gone);
        await setExpiry('RefreshToken', lenientToken.jti!, lenient);

        const expiredSession = await store('Session');
        const lenientInteraction = await store('Interaction');
        const foreverClient = await store('Client', undefined, null);
        await setExpiry('Session', expiredSession.jti!, gone);
        await setExpiry('Interaction', lenientInteraction.jti!, lenient);

        const expiredGrant = await createGrant();
        const orphan = await store('RefreshToken', expiredGrant);
        await setExpiry('Grant', expiredGrant.jti!, gone);
        const lenientGrant = await createGrant();
        await setExpiry('Grant', lenientGrant.jti!, lenient);

        const revoked = await createGrant();
        const revokedLenient = await createGrant();
        await adapter('Grant').destroy(revoked.jti!);
        await adapter('Grant').destroy(revokedLenient.jti!);
        await database.db('oidc_revoked_grants').where({ grant_id: revoked.jti }).update({ expires_at: gone });
        await database.db('oidc_revoked_grants').where({ grant_id: revokedLenient.jti }).update({ expires_at: lenient });

        const counts = await purgeExpired(database.db, CLOCK_TOLERANCE);
        expect(counts).to.deep.equal({ tokens: 1, models: 1, grants: 1, tombstones: 1, rateLimits: 0, dpopProofs: 0, accountTokens: 0, upstreamSignIns: 0 });

        expect(await rowExists('AccessToken', expiredToken.jti!)).to.equal(false);
        expect(await rowExists('RefreshToken', lenientToken.jti!)).to.equal(true);
        expect(await rowExists('AuthorizationCode', liveToken.jti!)).to.equal(true);
        expect(await rowExists('Session', expiredSession.jti!)).to.equal(false);
        expect(await rowExists('Interaction', lenientInteraction.jti!)).to.equal(true);
        expect(await rowExists('Client', idOf('Client', foreverClient))).to.equal(true);
        expect(await rowExists('Grant', expiredGrant.jti!)).to.equal(false);
        expect(await rowExists('RefreshToken', orphan.jti!), 'token of a purged grant').to.equal(false);
        expect(await rowExists('Grant', lenientGrant.jti!)).to.equal(true);
        expect(await database.db('oidc_revoked_grants').where({ grant_id: revoked.jti }).first()).to.equal(undefined);
        expect(await database.db('oidc_revoked_grants').where({ grant_id: revokedLenient.jti }).first()).to.not.equal(undefined);

        expect(await purgeExpired(database.db, CLOCK_TOLERANCE)).to.deep.equal({ tokens: 0, models: 0, grants: 0, tombstones: 0, rateLimits: 0, dpopProofs: 0, accountTokens: 0, upstreamSignIns: 0 });
      });
    });
  });
}
