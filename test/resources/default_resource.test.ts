// The bundled notes server is registered for `npm start` with no setup: at the first start on a
// database (when this process serves it), and at every start while MCP_RESOURCE names a URL that is
// not registered. A default resource an operator removed stays removed without MCP_RESOURCE.
import { expect } from 'chai';
import { resourceOperations } from '../../src/admin/resource_operations.ts';
import { listResources } from '../../src/storage/resource_store.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestServer } from '../support/server.ts';

describe('the default resource (the bundled MCP server)', () => {
  let database: TestDatabase;
  beforeEach(async () => {
    database = await createTestDatabase();
  });
  afterEach(() => database.close());

  const urls = async () => (await listResources(database.db)).map((resource) => resource.url);

  it('registered at the first start; removed, it stays removed on restart; MCP_RESOURCE brings it back', async () => {
    const first = await startTestServer({ database });
    const demo = first.config.resource;
    expect(await urls()).to.deep.equal([demo]);
    await resourceOperations({ db: first.db, revocation: first.revocation, clients: first.adapterFor('Client') }).remove(demo, {
      actor: { type: 'operator', id: 'test' },
    });
    await first.close();

    const second = await startTestServer({ database });
    expect(await urls()).to.deep.equal([]);
    await second.close();

    const third = await startTestServer({ database, env: { MCP_RESOURCE: 'https://notes.example/mcp' } });
    expect(await urls()).to.deep.equal(['https://notes.example/mcp']);
    const [registered] = await listResources(database.db);
    expect(registered!.scopes.map((scope) => scope.name)).to.deep.equal(['mcp:read', 'mcp:write']);
    await third.close();
  });

  it('not registered by an authorization-only process (SERVE=authorization) without MCP_RESOURCE', async () => {
    const server = await startTestServer({ database, env: { SERVE: 'authorization' } });
    expect(await urls()).to.deep.equal([]);
    await server.close();
  });
});
