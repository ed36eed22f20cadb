// Imports run one way: from the surfaces (HTTP routes, the admin API, the MCP server, the CLI) down
// through the provider and the services to storage and the database. Each directory of src/ has a
// layer; a module may import its own layer or a lower one, never a higher one. Lower layers that must
// reach up take hooks instead (a function passed in by the assembly). Read from the source text, so a
// new upward import fails here before anyone has to notice it.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Lowest first. A module's layer is its first directory under src/ (or, at the top, its file name). */
const LAYERS: string[][] = [
  ['config.ts', 'upstream_settings.ts', 'logger.ts', 'retry_after.ts', 'scopes.ts', 'package_version.ts', 'startup_refusal.ts', 'production_policy.ts', 'observability'],
  ['db'],
  ['secrets'],
  ['storage'],
  ['adapter'],
  ['mail'],
  ['accounts', 'federation', 'keys', 'revocation', 'resources'],
  ['provider'],
  ['tokens'],
  ['http'],
  ['resource_server'],
  ['admin', 'mcp'],
  ['cli', 'authorization_server.ts', 'startup_message.ts', 'main.ts'],
];

/** Packages only some layers may load (the MCP SDK is the resource server's, not the services'). */
const PACKAGES: { prefix: string; layers: string[] }[] = [{ prefix: '@modelcontextprotocol/', layers: ['tokens', 'mcp', 'resource_server'] }];

/** Entry points that assemble a whole process: they sit at the top whatever their directory. */
const ASSEMBLIES = new Set(['mcp/main.ts', 'cli/main.ts']);

function layerName(file: string): string {
  const [first] = file.split('/');
  return first!;
}

function rank(file: string): number {
  if (ASSEMBLIES.has(file)) return LAYERS.length - 1;
  const name = layerName(file);
  const index = LAYERS.findIndex((layer) => layer.includes(name));
  if (index < 0) throw new Error(`src/${file}: ${name} has no layer; add it to LAYERS in test/architecture/layers.test.ts`);
  return index;
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every module specifier of a file: static imports and re-exports (type-only too), and dynamic imports. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/^\s*(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/gms)) found.push(match[1]!);
  for (const match of source.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)) found.push(match[1]!);
  for (const match of source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(match[1]!);
  return found;
}

interface Edge {
  from: string;
  to: string;
}

function imports(): { internal: Edge[]; packages: Edge[] } {
  const internal: Edge[] = [];
  const packages: Edge[] = [];
  for (const path of sourceFiles(SRC)) {
    const from = relative(SRC, path);
    for (const specifier of specifiers(readFileSync(path, 'utf8'))) {
      if (!specifier.startsWith('.')) {
        packages.push({ from, to: specifier });
        continue;
      }
      const to = relative(SRC, resolve(dirname(path), specifier));
      if (!to.startsWith('..')) internal.push({ from, to });
    }
  }
  return { internal, packages };
}

describe('imports run one way (src/ layers)', () => {
  const { internal, packages } = imports();

  it('reads the imports it judges', () => {
    expect(internal.length).to.be.greaterThan(200);
    expect(internal).to.deep.include({ from: 'http/app.ts', to: 'db/connect.ts' });
  });

  it('no module imports a higher layer', () => {
    const upward = internal.filter(({ from, to }) => rank(to) > rank(from)).map(({ from, to }) => `${from} -> ${to}`);
    expect(upward, 'imports from a lower layer to a higher one').to.deep.equal([]);
  });

  it('packages meant for one surface stay there', () => {
    const misplaced = packages
      .filter(({ from, to }) => PACKAGES.some(({ prefix, layers }) => to.startsWith(prefix) && !layers.includes(layerName(from))))
      .map(({ from, to }) => `${from} -> ${to}`);
    expect(misplaced).to.deep.equal([]);
  });
});
