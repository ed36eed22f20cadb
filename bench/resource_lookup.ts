// What reading the resource registry per request costs (docs/resources.md): the primary-key lookup
// behind every token request and consent page, and the whole-table read behind the default resource,
// with 20 resources registered, on the embedded database and (with DATABASE_URL) on PostgreSQL.
// Run: `node bench/resource_lookup.ts [iterations]`.
import { findRegisteredResource, registeredResources } from '../src/resources/resource_registry.ts';
import { insertResource } from '../src/storage/resource_store.ts';
import { availableKinds, createTestDatabase } from '../test/support/database.ts';

const iterations = Number(process.argv[2] ?? 2000);

async function measure(run: () => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 200; i += 1) await run();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i += 1) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => Math.round(samples[Math.floor(q * samples.length)]! * 1000) / 1000;
  return { p50: at(0.5), p99: at(0.99) };
}

for (const kind of availableKinds()) {
  const database = await createTestDatabase(kind);
  try {
    for (let n = 0; n < 20; n += 1) {
      await insertResource(database.db, {
        url: `https://mcp${n}.example/mcp`,
        name: `MCP ${n}`,
        scopes: [
          { name: `s${n}:read`, description: 'read things' },
          { name: `s${n}:write`, description: 'change things' },
        ],
        accessTokenTtl: undefined,
      });
    }
    const find = await measure(() => findRegisteredResource(database.db, 'https://mcp7.example/mcp/'));
    const list = await measure(() => registeredResources(database.db));
    console.log(JSON.stringify({ kind, iterations, findMs: find, listAllMs: list }));
  } finally {
    await database.close();
  }
}
