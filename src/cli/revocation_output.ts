// Shared by every revoking command: the operator actor, a progress bar, and the summary line.
import { userInfo } from 'node:os';
import { progress } from '@clack/prompts';
import { BATCH_SIZE } from '../config.ts';
import type { Actor, RevocationOptions, RevocationOutcome } from '../revocation/revocation_service.ts';
import { printJson, printLine } from './output.ts';

export interface RevokeFlags {
  dryRun?: boolean;
  json?: boolean;
  reason?: string;
}

export function operator(): Actor {
  return { type: 'operator', id: `cli:${userInfo().username}` };
}

/** Runs a revocation with a progress bar on an interactive terminal (never in --json mode). */
export async function withProgress(
  flags: RevokeFlags,
  revoke: (options: RevocationOptions) => Promise<RevocationOutcome>,
): Promise<RevocationOutcome> {
  const options: RevocationOptions = { actor: operator(), reason: flags.reason, dryRun: flags.dryRun === true };
  if (flags.json || !process.stderr.isTTY) return revoke(options);
  let bar: ReturnType<typeof progress> | undefined;
  let shown = 0;
  const outcome = await revoke({
    ...options,
    onProgress(done, total) {
      // Only worth a bar when there is more than one batch of work.
      if (!bar && total > BATCH_SIZE) {
        bar = progress({ max: total, output: process.stderr });
        bar.start('revoking grants');
      }
      bar?.advance(done - shown, `${done} of ${total} grants`);
      shown = done;
    },
  });
  bar?.stop('done');
  return outcome;
}

export function describeCounts(counts: Record<string, number>): string {
  const parts = Object.entries(counts)
    .filter(([, count]) => count > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([model, count]) => `${count} ${model}`);
  return parts.length ? parts.join(', ') : 'nothing';
}

/** `subject`: how a person names the target (an account's email), printed before the ids. */
export function printOutcome(outcome: RevocationOutcome, flags: RevokeFlags, subject?: string): void {
  if (flags.json) {
    printJson(outcome);
    return;
  }
  const verb = outcome.dryRun ? 'dry run: would remove' : 'removed';
  const ids = Object.entries(outcome.target)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join(',') : String(value)}`)
    .join(' ');
  const target = subject ? `${subject} ${ids}` : ids;
  printLine(`${outcome.action} ${target}: ${verb} ${describeCounts(outcome.counts)}`);
}
