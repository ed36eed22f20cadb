// The revocation audit trail: one row per revocation, written in the revoking transaction.
import type { Knex } from 'knex';
import type { Database } from '../db/connect.ts';
import type { RevocationCounts } from './revocation_store.ts';

export type ActorType = 'client' | 'operator' | 'user' | 'system';

export interface Actor {
  type: ActorType;
  id?: string | undefined;
}

export interface AuditEntry {
  actor: Actor;
  action: string;
  target: Record<string, unknown>;
  reason?: string | undefined;
  counts: RevocationCounts;
}

export interface AuditRecord extends AuditEntry {
  id: number;
  at: Date;
}

interface AuditRow {
  id: string | number;
  at: Date | string;
  actor_type: ActorType;
  actor_id: string | null;
  action: string;
  target: Record<string, unknown>;
  reason: string | null;
  counts: RevocationCounts;
}

export async function recordAudit(db: Database | Knex.Transaction, entry: AuditEntry): Promise<number> {
  const [row] = await db('revocation_audit')
    .insert({
      actor_type: entry.actor.type,
      actor_id: entry.actor.id ?? null,
      action: entry.action,
      target: JSON.stringify(entry.target),
      reason: entry.reason ?? null,
      counts: JSON.stringify(entry.counts),
    })
    .returning('id');
  return Number((row as { id: string | number }).id);
}

export async function listAudit(db: Database, options: { limit?: number } = {}): Promise<AuditRecord[]> {
  const rows = await db<AuditRow>('revocation_audit')
    .orderBy('id', 'desc')
    .limit(options.limit ?? 100);
  return rows.map((row) => ({
    id: Number(row.id),
    at: new Date(row.at),
    actor: { type: row.actor_type, id: row.actor_id ?? undefined },
    action: row.action,
    target: row.target,
    reason: row.reason ?? undefined,
    counts: row.counts,
  }));
}
