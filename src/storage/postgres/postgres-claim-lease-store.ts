import type { ClaimLeaseStore } from '../../claims/patient-claim-lease.js';
import type { PostgresDatabase } from './postgres-database.js';

/**
 * Per-patient claim leases on PostgreSQL (schema version 5), shared by every process of the payer
 * member: one upsert takes a free or expired row (ON CONFLICT re-checks the row after a concurrent
 * insert commits), and expiry is by the database's clock, so processes whose clocks disagree agree.
 */
export class PostgresClaimLeaseStore implements ClaimLeaseStore {
  constructor(private readonly db: PostgresDatabase) {}

  async tryClaim(patient: string, holder: string, leaseMs: number): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO claim_patient_leases (patient, holder, expires_at)
       VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3::double precision / 1000))
       ON CONFLICT (patient) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
       WHERE claim_patient_leases.expires_at <= clock_timestamp()
       RETURNING holder`,
      [patient, holder, leaseMs],
    );
    return rows.length === 1;
  }

  async renew(patient: string, holder: string, leaseMs: number): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE claim_patient_leases
       SET expires_at = clock_timestamp() + make_interval(secs => $3::double precision / 1000)
       WHERE patient = $1 AND holder = $2
       RETURNING holder`,
      [patient, holder, leaseMs],
    );
    return rows.length === 1;
  }

  async release(patient: string, holder: string): Promise<void> {
    await this.db.execute('DELETE FROM claim_patient_leases WHERE patient = $1 AND holder = $2', [
      patient,
      holder,
    ]);
  }
}
