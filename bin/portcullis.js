#!/usr/bin/env node
// Needs Node >= 22.18 (type stripping); `npm run cli -- ...` uses the project's pinned Node 24.
await import('../src/cli/main.ts');
