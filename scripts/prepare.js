// npm's `prepare` (after `npm install` / `npm ci`): builds dist/ when the build tools are installed.
// Without them (`npm ci --omit=dev` after a build) it keeps the build that is there: cleaning it and
// then failing to compile would leave nothing to run.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

try {
  createRequire(import.meta.url).resolve('typescript/package.json');
} catch {
  process.stdout.write('prepare: TypeScript is not installed (a production install): dist/ is left as it is\n');
  process.exit(0);
}
const npm = process.env.npm_execpath;
if (npm) execFileSync(process.execPath, [npm, 'run', 'build'], { stdio: 'inherit' });
else execFileSync('npm', ['run', 'build'], { stdio: 'inherit' });
