import type { Address, Hex } from 'viem';
import type {
  BlockRef,
  ChainIndexStorage,
  IndexedAnchor,
  IndexedEvent,
  IndexedGrant,
  IndexedMember,
  IndexedPractitioner,
  IndexedProposal,
} from '../../sync/index-storage.js';
import {
  type AnchorRow,
  type GrantRow,
  type MemberRow,
  type PractitionerRow,
  proposalsFromEvents,
  toAnchor,
  toGrant,
  toMember,
  toPractitioner,
} from '../chain-index-rows.js';
import type { Migration, SqliteDatabase } from './open-database.js';

export const chainIndexMigrations: Migration[] = [
  {
    id: 'chain-index-001',
    sql: `
      CREATE TABLE chain_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), block_number INTEGER NOT NULL, block_hash TEXT NOT NULL);
      CREATE TABLE chain_blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL);
      CREATE TABLE chain_events (
        block_number INTEGER NOT NULL,
        log_index INTEGER NOT NULL,
        block_hash TEXT NOT NULL,
        tx_hash TEXT NOT NULL,
        contract TEXT NOT NULL,
        name TEXT NOT NULL,
        args TEXT NOT NULL,
        PRIMARY KEY (block_number, log_index)
      );
      CREATE TABLE idx_members (
        address TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role INTEGER NOT NULL,
        fhir_base_url TEXT NOT NULL DEFAULT '',
        log_origin TEXT NOT NULL,
        log_verifier_key TEXT NOT NULL DEFAULT '',
        encryption_public_key TEXT NOT NULL DEFAULT '0x',
        status TEXT NOT NULL,
        admitted_block INTEGER NOT NULL
      );
      CREATE TABLE idx_grants (
        grant_id TEXT PRIMARY KEY,
        patient TEXT NOT NULL,
        grantee TEXT NOT NULL,
        categories TEXT NOT NULL,
        purposes TEXT NOT NULL,
        not_before INTEGER NOT NULL,
        not_after INTEGER NOT NULL,
        nonce TEXT NOT NULL,
        revoked_at INTEGER,
        block_number INTEGER NOT NULL,
        tx_hash TEXT NOT NULL
      );
      CREATE INDEX idx_grants_patient ON idx_grants (patient, grantee);
      CREATE TABLE idx_practitioners (
        address TEXT PRIMARY KEY,
        organization TEXT NOT NULL,
        credential_hash TEXT NOT NULL,
        qualification_code TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        revoked INTEGER NOT NULL
      );
      CREATE TABLE idx_anchors (
        origin TEXT NOT NULL,
        tree_size INTEGER NOT NULL,
        root_hash TEXT NOT NULL,
        note_hash TEXT NOT NULL,
        member TEXT NOT NULL,
        anchored_at INTEGER NOT NULL,
        block_number INTEGER NOT NULL,
        tx_hash TEXT NOT NULL,
        PRIMARY KEY (origin, tree_size)
      );
    `,
  },
  {
    // RecordLocator pointers: which members hold records of a (pseudonymous) patient address.
    id: 'chain-index-002',
    sql: `
      CREATE TABLE idx_record_locations (
        patient TEXT NOT NULL,
        member TEXT NOT NULL,
        block_number INTEGER NOT NULL,
        log_index INTEGER NOT NULL,
        PRIMARY KEY (patient, member)
      );
    `,
  },
  {
    // Decision 0013: a grant on chain carries a commitment to its terms, no category or purpose bits.
    // Grants of the earlier contract are not carried over: that contract is replaced, not upgraded.
    id: 'chain-index-003',
    sql: `
      DROP TABLE idx_grants;
      CREATE TABLE idx_grants (
        grant_id TEXT PRIMARY KEY,
        patient TEXT NOT NULL,
        grantee TEXT NOT NULL,
        terms_hash TEXT NOT NULL,
        not_before INTEGER NOT NULL,
        not_after INTEGER NOT NULL,
        nonce TEXT NOT NULL,
        revoked_at INTEGER,
        block_number INTEGER NOT NULL,
        tx_hash TEXT NOT NULL
      );
      CREATE INDEX idx_grants_patient ON idx_grants (patient, grantee);
    `,
  },
];

/** Re-exported for the callers that took them from here. */
export {
  type GrantRow,
  type MemberRow,
  proposalsFromEvents,
  toGrant,
  toMember,
} from '../chain-index-rows.js';

export class SqliteChainIndexStorage implements ChainIndexStorage {
  private readonly applyEvent: (event: IndexedEvent) => void;
  private readonly sql;

  constructor(private readonly db: SqliteDatabase) {
    const s = {
      insertEvent: db.prepare(
        `INSERT OR IGNORE INTO chain_events (block_number, log_index, block_hash, tx_hash, contract, name, args)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertBlock: db.prepare('INSERT OR REPLACE INTO chain_blocks (number, hash) VALUES (?, ?)'),
      setCursor: db.prepare(
        'INSERT OR REPLACE INTO chain_cursor (id, block_number, block_hash) VALUES (1, ?, ?)',
      ),
      admit: db.prepare(
        `INSERT INTO idx_members (address, name, role, log_origin, status, admitted_block) VALUES (?, ?, ?, ?, 'active', ?)
         ON CONFLICT (address) DO UPDATE SET name = excluded.name, role = excluded.role,
           log_origin = excluded.log_origin, status = 'active', admitted_block = excluded.admitted_block`,
      ),
      remove: db.prepare("UPDATE idx_members SET status = 'removed' WHERE address = ?"),
      updateMember: db.prepare(
        'UPDATE idx_members SET fhir_base_url = ?, log_verifier_key = ?, encryption_public_key = ? WHERE address = ?',
      ),
      grant: db.prepare(
        `INSERT OR REPLACE INTO idx_grants (grant_id, patient, grantee, terms_hash, not_before, not_after, nonce, revoked_at, block_number, tx_hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)`,
      ),
      revoke: db.prepare('UPDATE idx_grants SET revoked_at = ? WHERE grant_id = ?'),
      attest: db.prepare(
        `INSERT OR REPLACE INTO idx_practitioners (address, organization, credential_hash, qualification_code, expires_at, revoked)
         VALUES (?, ?, ?, ?, ?, 0)`,
      ),
      revokePractitioner: db.prepare('UPDATE idx_practitioners SET revoked = 1 WHERE address = ?'),
      locate: db.prepare(
        `INSERT OR IGNORE INTO idx_record_locations (patient, member, block_number, log_index)
         VALUES (?, ?, ?, ?)`,
      ),
      unlocate: db.prepare('DELETE FROM idx_record_locations WHERE patient = ? AND member = ?'),
      anchor: db.prepare(
        `INSERT OR REPLACE INTO idx_anchors (origin, tree_size, root_hash, note_hash, member, anchored_at, block_number, tx_hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
    };
    this.sql = s;
    // Event sourcing: derived tables are a fold of chain_events, so a rollback can rebuild them.
    this.applyEvent = (event) => {
      const a = event.args;
      switch (event.name) {
        case 'MemberAdmitted':
          s.admit.run(a.account, a.name, Number(a.role), a.logOrigin, event.blockNumber);
          break;
        case 'MemberRemoved':
          s.remove.run(a.account);
          break;
        case 'MemberUpdated':
          s.updateMember.run(a.fhirBaseUrl, a.logVerifierKey, a.encryptionPublicKey, a.account);
          break;
        case 'ConsentGranted':
          s.grant.run(
            a.grantId,
            a.patient,
            a.grantee,
            a.termsHash,
            Number(a.notBefore),
            Number(a.notAfter),
            a.nonce,
            event.blockNumber,
            event.txHash,
          );
          break;
        case 'ConsentRevoked':
          s.revoke.run(Number(a.revokedAt), a.grantId);
          break;
        case 'PractitionerAttested':
          s.attest.run(
            a.practitioner,
            a.organization,
            a.credentialHash,
            a.qualificationCode,
            Number(a.expiresAt),
          );
          break;
        case 'PractitionerRevoked':
          s.revokePractitioner.run(a.practitioner);
          break;
        case 'CheckpointAnchored':
          s.anchor.run(
            a.origin,
            Number(a.treeSize),
            a.rootHash,
            a.noteHash,
            a.member,
            Number(a.anchoredAt),
            event.blockNumber,
            event.txHash,
          );
          break;
        case 'RecordsLocated':
          s.locate.run(a.patient, a.member, event.blockNumber, event.logIndex);
          break;
        case 'RecordsWithdrawn':
          s.unlocate.run(a.patient, a.member);
          break;
        default:
          // ProposalCreated, VoteCast: kept in chain_events for the governance view; nothing derived.
          break;
      }
    };
  }

  async cursor(): Promise<BlockRef | undefined> {
    const row = this.db.prepare('SELECT block_number, block_hash FROM chain_cursor WHERE id = 1').get() as
      | { block_number: number; block_hash: string }
      | undefined;
    return row === undefined ? undefined : { number: row.block_number, hash: row.block_hash as Hex };
  }

  async recentBlocks(limit: number): Promise<BlockRef[]> {
    const rows = this.db
      .prepare('SELECT number, hash FROM chain_blocks ORDER BY number DESC LIMIT ?')
      .all(limit) as {
      number: number;
      hash: string;
    }[];
    return rows.map((row) => ({ number: row.number, hash: row.hash as Hex }));
  }

  async applyBatch(batch: {
    events: readonly IndexedEvent[];
    blocks: readonly BlockRef[];
    cursor: BlockRef;
  }): Promise<void> {
    this.db
      .transaction(() => {
        for (const event of batch.events) {
          const inserted = this.sql.insertEvent.run(
            event.blockNumber,
            event.logIndex,
            event.blockHash,
            event.txHash,
            event.contract,
            event.name,
            JSON.stringify(event.args),
          );
          if (inserted.changes > 0) this.applyEvent(event);
        }
        for (const block of batch.blocks) this.sql.insertBlock.run(block.number, block.hash);
        this.sql.setCursor.run(batch.cursor.number, batch.cursor.hash);
        // Keep a bounded window of block hashes for finding a fork point.
        this.db.prepare('DELETE FROM chain_blocks WHERE number < ?').run(batch.cursor.number - 10_000);
      })
      .immediate();
  }

  async rollbackTo(block: BlockRef | undefined): Promise<void> {
    const keep = block?.number ?? -1;
    this.db
      .transaction(() => {
        this.db.prepare('DELETE FROM chain_events WHERE block_number > ?').run(keep);
        this.db.prepare('DELETE FROM chain_blocks WHERE number > ?').run(keep);
        for (const table of [
          'idx_members',
          'idx_grants',
          'idx_practitioners',
          'idx_anchors',
          'idx_record_locations',
        ]) {
          this.db.prepare(`DELETE FROM ${table}`).run();
        }
        // .all(), not .iterate(): better-sqlite3 allows no other statement while an iterator is open.
        const rows = this.db.prepare('SELECT * FROM chain_events ORDER BY block_number, log_index').all() as {
          block_number: number;
          log_index: number;
          block_hash: string;
          tx_hash: string;
          contract: IndexedEvent['contract'];
          name: string;
          args: string;
        }[];
        for (const row of rows) {
          this.applyEvent({
            blockNumber: row.block_number,
            logIndex: row.log_index,
            blockHash: row.block_hash as Hex,
            txHash: row.tx_hash as Hex,
            contract: row.contract,
            name: row.name,
            args: JSON.parse(row.args) as IndexedEvent['args'],
          });
        }
        if (block === undefined) this.db.prepare('DELETE FROM chain_cursor').run();
        else this.sql.setCursor.run(block.number, block.hash);
      })
      .immediate();
  }

  async members(): Promise<IndexedMember[]> {
    return (
      this.db.prepare('SELECT * FROM idx_members ORDER BY admitted_block, address').all() as MemberRow[]
    ).map(toMember);
  }

  async member(address: Address): Promise<IndexedMember | undefined> {
    const row = this.db.prepare('SELECT * FROM idx_members WHERE address = ?').get(address) as
      | MemberRow
      | undefined;
    return row === undefined ? undefined : toMember(row);
  }

  async grants(filter: {
    patient?: Address;
    grantee?: Address;
    grantIds?: readonly Hex[];
  }): Promise<IndexedGrant[]> {
    const where: string[] = [];
    const params: string[] = [];
    if (filter.patient !== undefined) {
      where.push('patient = ?');
      params.push(filter.patient);
    }
    if (filter.grantee !== undefined) {
      where.push('grantee = ?');
      params.push(filter.grantee);
    }
    if (filter.grantIds !== undefined) {
      if (filter.grantIds.length === 0) return [];
      where.push(`grant_id IN (${filter.grantIds.map(() => '?').join(', ')})`);
      params.push(...filter.grantIds);
    }
    const clause = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
    const rows = this.db
      .prepare(`SELECT * FROM idx_grants ${clause} ORDER BY block_number, grant_id`)
      .all(...params);
    return (rows as GrantRow[]).map(toGrant);
  }

  async grant(grantId: Hex): Promise<IndexedGrant | undefined> {
    const row = this.db.prepare('SELECT * FROM idx_grants WHERE grant_id = ?').get(grantId) as
      | GrantRow
      | undefined;
    return row === undefined ? undefined : toGrant(row);
  }

  async practitioner(address: Address): Promise<IndexedPractitioner | undefined> {
    const row = this.db.prepare('SELECT * FROM idx_practitioners WHERE address = ?').get(address) as
      | PractitionerRow
      | undefined;
    return row === undefined ? undefined : toPractitioner(row);
  }

  async practitioners(filter: { organization?: Address } = {}): Promise<IndexedPractitioner[]> {
    const rows = (
      filter.organization === undefined
        ? this.db.prepare('SELECT * FROM idx_practitioners ORDER BY organization, address').all()
        : this.db
            .prepare('SELECT * FROM idx_practitioners WHERE organization = ? ORDER BY address')
            .all(filter.organization)
    ) as PractitionerRow[];
    return rows.map(toPractitioner);
  }

  async proposals(): Promise<IndexedProposal[]> {
    const rows = this.db
      .prepare(
        `SELECT block_number, tx_hash, name, args FROM chain_events
         WHERE contract = 'registry' AND name IN ('ProposalCreated', 'VoteCast')
         ORDER BY block_number, log_index`,
      )
      .all() as { block_number: number; tx_hash: string; name: string; args: string }[];
    return proposalsFromEvents(rows);
  }

  async anchors(origin: string): Promise<IndexedAnchor[]> {
    const rows = this.db
      .prepare('SELECT * FROM idx_anchors WHERE origin = ? ORDER BY tree_size')
      .all(origin) as AnchorRow[];
    return rows.map(toAnchor);
  }

  async recordLocations(patient: Address): Promise<Address[]> {
    const rows = this.db
      .prepare('SELECT member FROM idx_record_locations WHERE patient = ? ORDER BY block_number, log_index')
      .all(patient) as { member: string }[];
    return rows.map((row) => row.member as Address);
  }

  async eventCount(): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM chain_events').get() as { n: number }).n;
  }
}
