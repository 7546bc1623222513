import type { ClaimLeaseStore } from '../../claims/patient-claim-lease.js';
import type { Migration, SqliteDatabase } from './open-database.js';

export const claimLeaseMigrations: Migration[] = [
  {
    // Decision 0019: the patient whose claim one of the payer's processes is adjudicating right now
    // (a ledger address, public on chain), until it stores the decision or the lease expires.
    id: 'claim-patient-leases-001',
    sql: `
      CREATE TABLE claim_patient_leases (
        patient TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
    `,
  },
];

/**
 * Per-patient claim leases in the SQLite file a member's processes share: one upsert takes a free or
 * expired row and reports it (RETURNING), so two processes never both hold a patient.
 */
export class SqliteClaimLeaseStore implements ClaimLeaseStore {
  constructor(private readonly db: SqliteDatabase) {}

  async tryClaim(patient: string, holder: string, leaseMs: number, nowMs: number): Promise<boolean> {
    const taken = this.db
      .prepare(
        `INSERT INTO claim_patient_leases (patient, holder, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (patient) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE claim_patient_leases.expires_at <= ?
         RETURNING holder`,
      )
      .get(patient, holder, nowMs + leaseMs, nowMs);
    return taken !== undefined;
  }

  async renew(patient: string, holder: string, leaseMs: number, nowMs: number): Promise<boolean> {
    const renewed = this.db
      .prepare('UPDATE claim_patient_leases SET expires_at = ? WHERE patient = ? AND holder = ?')
      .run(nowMs + leaseMs, patient, holder);
    return renewed.changes === 1;
  }

  async release(patient: string, holder: string): Promise<void> {
    this.db.prepare('DELETE FROM claim_patient_leases WHERE patient = ? AND holder = ?').run(patient, holder);
  }
}
