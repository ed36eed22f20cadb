// What `npm start` tells a person at a terminal, in plain words: where the servers are and how to
// sign in. The JSON log lines stay as they are; nothing is printed when stdout is not a terminal
// (a supervisor or a log collector reads JSON only).
import { findAccountByEmail } from './storage/account_store.ts';
import type { Config } from './config.ts';
import type { Database } from './db/connect.ts';
import { packageVersion } from './package_version.ts';
import { DEMO_EMAIL, DEMO_PASSWORD } from '../seeds/01_demo_account.ts';

export interface StartupFacts {
  config: Config;
  /** Whether this process serves the MCP server too (SERVE=all). */
  servesMcp: boolean;
  /** Whether the seeded demo account exists (only ever on the embedded database). */
  demoAccount: boolean;
}

export function describeStartup({ config, servesMcp, demoAccount }: StartupFacts): string {
  const database = config.database.url ? 'PostgreSQL' : `the embedded database in ${config.database.dataDir}`;
  const lines = [
    `Portcullis ${packageVersion()} is running on ${database}.`,
    `  Authorization server  ${config.issuer}  (port ${config.port})`,
    servesMcp
      ? `  MCP server            ${config.resource}  (port ${config.mcp.port})`
      : '  MCP server            not in this process (SERVE=authorization): run `npm run start:mcp`',
    `  Connected apps        ${config.issuer}/account`,
    demoAccount
      ? `Sign in with the demo account: ${DEMO_EMAIL}, password ${DEMO_PASSWORD}.`
      : 'Create an account to sign in with: npm run cli -- users add <email>',
    servesMcp ? `Connect an MCP client to ${config.resource}: it registers itself and sends you to sign in.` : undefined,
    'Stop with Ctrl+C.',
  ];
  return `\n${lines.filter((line) => line !== undefined).join('\n')}\n\n`;
}

export async function printStartupMessage(
  { config, db, servesMcp }: { config: Config; db: Database; servesMcp: boolean },
  out: { isTTY?: boolean; write(text: string): unknown } = process.stdout,
): Promise<void> {
  if (!out.isTTY) return;
  const demoAccount = config.database.url === undefined && (await findAccountByEmail(db, DEMO_EMAIL)) !== undefined;
  out.write(describeStartup({ config, servesMcp, demoAccount }));
}
