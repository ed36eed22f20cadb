// The demo account a newcomer signs in with. Never created in production.
import type { Knex } from 'knex';
import { createAccount, findAccountByEmail } from '../src/storage/account_store.ts';
import { loadConfig } from '../src/config.ts';

export const DEMO_EMAIL = 'demo@example.com';
export const DEMO_PASSWORD = 'demo-password';

export async function seed(knex: Knex): Promise<void> {
  if (loadConfig().env === 'production') {
    throw new Error('refusing to seed the demo account when NODE_ENV=production');
  }
  if (await findAccountByEmail(knex, DEMO_EMAIL)) return;
  await createAccount(knex, DEMO_EMAIL, DEMO_PASSWORD);
}
