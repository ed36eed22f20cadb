import { createMcpServer } from '../src/mcp/tools.ts';
const deps = { db: {} as never, logger: undefined as never, notesPerAccount: 100 };
for (let i = 0; i < 200; i++) createMcpServer(deps);
const t = performance.now();
for (let i = 0; i < 2000; i++) createMcpServer(deps);
console.log('createMcpServer µs', ((performance.now() - t) / 2000 * 1000).toFixed(1));
