import type { Command } from 'commander';
import { newSecretsKey } from '../../secrets/keyring.ts';
import { loadKeyring } from '../../secrets/keyring_source.ts';
import { decryptSecrets, reencryptSecrets } from '../../storage/secret_reencryption.ts';
import { cliContext } from '../context.ts';
import { type OutputOptions, printJson, printLine } from '../output.ts';

export function registerSecretsCommands(program: Command): void {
  const secrets = program.command('secrets').description('SECRETS_KEY: the keys that encrypt stored secrets');
  secrets
    .command('new-key')
    .description('print a new random key for SECRETS_KEY (put it first in the list, then run `secrets rotate`)')
    .action(() => printLine(newSecretsKey()));
  secrets
    .command('rotate')
    .description('re-encrypt every stored secret with the first key of SECRETS_KEY; afterwards the other keys can be removed')
    .option('--json', 'print JSON')
    .action(async (options: OutputOptions) => {
      const { db, config } = await cliContext();
      const result = await reencryptSecrets(db, loadKeyring(config), 'all');
      if (options.json) printJson(result);
      else printLine(`re-encrypted ${result.serverKeys} server key(s) and ${result.clientSecrets} client secret(s) with key ${result.keyId}`);
    });
  secrets
    .command('decrypt')
    .description('before going back to 0.1.0: store every encrypted secret in clear again (a start of this release encrypts them again)')
    .requiredOption('--yes', 'confirm that private keys and client secrets will be stored unencrypted')
    .option('--json', 'print JSON')
    .action(async (options: OutputOptions) => {
      const { db, config } = await cliContext();
      const result = await decryptSecrets(db, loadKeyring(config));
      if (options.json) printJson(result);
      else {
        printLine(`stored ${result.serverKeys} server key(s) and ${result.clientSecrets} client secret(s) in clear`);
        if (result.hashedClientSecrets > 0) {
          printLine(`${result.hashedClientSecrets} client(s) created by this release keep a hashed secret that 0.1.0 cannot check: create them again after going back`);
        }
      }
    });
}
