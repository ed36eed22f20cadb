// Starts a compiled entry point of dist/, after two checks that need nothing installed or built, so
// each failure is one readable line instead of a stack trace: a Node.js at least as new as
// package.json's `engines` (older ones fail on syntax or APIs deep inside a dependency), and a build.
// Plain JavaScript with no imports beyond node: on purpose.
import { existsSync, readFileSync } from 'node:fs';

const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const minimum = /(\d+)\.(\d+)\.(\d+)/.exec(packageJson.engines.node).slice(1).map(Number);

function isOlder(version, than) {
  for (let i = 0; i < than.length; i += 1) {
    if (version[i] !== than[i]) return version[i] < than[i];
  }
  return false;
}

/** Imports dist/src/<entry> (e.g. 'main.js'), or exits 1 with one line on stderr. */
export async function launch(entry) {
  if (isOlder(process.versions.node.split('.').map(Number), minimum)) {
    process.stderr.write(`portcullis needs Node.js ${minimum.join('.')} or later; this is ${process.version} (${process.execPath})\n`);
    process.exit(1);
  }
  const compiled = new URL(`../dist/src/${entry}`, import.meta.url);
  if (!existsSync(compiled)) {
    process.stderr.write('portcullis is not built (dist/ is missing): run `npm ci` (which builds it; the build needs the dev dependencies), then `npm prune --omit=dev`\n');
    process.exit(1);
  }
  await import(compiled.href);
}
