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
import type { PgQueryable, PostgresDatabase } from './postgres-database.js';

interface EventRow {
  block_number: number;
  log_index: number;
  block_hash: string;
  tx_hash: string;
  contract: IndexedEvent['contract'];
  name: string;
  args: string;
}

const DERIVED_TABLES = [
  'idx_members',
  'idx_grants',
  'idx_practitioners',
  'idx_anchors',
  'idx_record_locations',
];

/** The fold of one chain event into the derived tables (as SqliteChainIndexStorage's applyEvent). */
async function applyEvent(tx: PgQueryable, event: IndexedEvent): Promise<void> {
  const a = event.args;
  switch (event.name) {
    case 'MemberAdmitted':
      await tx.execute(
        `INSERT INTO idx_members (address, name, role, log_origin, status, admitted_block) VALUES ($1, $2, $3, $4, 'active', $5)
         ON CONFLICT (address) DO UPDATE SET name = excluded.name, role = excluded.role,
           log_origin = excluded.log_origin, status = 'active', admitted_block = excluded.admitted_block`,
        [a.account, a.name, Number(a.role), a.logOrigin, event.blockNumber],
      );
      break;
    case 'MemberRemoved':
      await tx.execute("UPDATE idx_members SET status = 'removed' WHERE address = $1", [a.account]);
      break;
    case 'MemberUpdated':
      await tx.execute(
        'UPDATE idx_members SET fhir_base_url = $1, log_verifier_key = $2, encryption_public_key = $3 WHERE address = $4',
        [a.fhirBaseUrl, a.logVerifierKey, a.encryptionPublicKey, a.account],
      );
      break;
    case 'ConsentGranted':
      await tx.execute(
        `INSERT INTO idx_grants (grant_id, patient, grantee, terms_hash, not_before, not_after, nonce, revoked_at, block_number, tx_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9)
         ON CONFLICT (grant_id) DO UPDATE SET patient = excluded.patient, grantee = excluded.grantee,
           terms_hash = excluded.terms_hash, not_before = excluded.not_before, not_after = excluded.not_after,
           nonce = excluded.nonce, revoked_at = NULL, block_number = excluded.block_number, tx_hash = excluded.tx_hash`,
        [
          a.grantId,
          a.patient,
          a.grantee,
          a.termsHash,
          Number(a.notBefore),
          Number(a.notAfter),
          String(a.nonce),
          event.blockNumber,
          event.txHash,
        ],
      );
      break;
    case 'ConsentRevoked':
      await tx.execute('UPDATE idx_grants SET revoked_at = $1 WHERE grant_id = $2', [
        Number(a.revokedAt),
        a.grantId,
      ]);
      break;
    case 'PractitionerAttested':
      await tx.execute(
        `INSERT INTO idx_practitioners (address, organization, credential_hash, qualification_code, expires_at, revoked)
         VALUES ($1, $2, $3, $4, $5, FALSE)
         ON CONFLICT (address) DO UPDATE SET organization = excluded.organization,
           credential_hash = excluded.credential_hash, qualification_code = excluded.qualification_code,
           expires_at = excluded.expires_at, revoked = FALSE`,
        [a.practitioner, a.organization, a.credentialHash, a.qualificationCode, Number(a.expiresAt)],
      );
      break;
    case 'PractitionerRevoked':
      await tx.execute('UPDATE idx_practitioners SET revoked = TRUE WHERE address = $1', [a.practitioner]);
      break;
    case 'CheckpointAnchored':
      await tx.execute(
        `INSERT INTO idx_anchors (origin, tree_size, root_hash, note_hash, member, anchored_at, block_number, tx_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (origin, tree_size) DO UPDATE SET root_hash = excluded.root_hash, note_hash = excluded.note_hash,
           member = excluded.member, anchored_at = excluded.anchored_at, block_number = excluded.block_number,
           tx_hash = excluded.tx_hash`,
        [
          a.origin,
          Number(a.treeSize),
          a.rootHash,
          a.noteHash,
          a.member,
          Number(a.anchoredAt),
          event.blockNumber,
          event.txHash,
        ],
      );
      break;
    case 'RecordsLocated':
      await tx.execute(
        `INSERT INTO idx_record_locations (patient, member, block_number, log_index) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING`,
        [a.patient, a.member, event.blockNumber, event.logIndex],
      );
      break;
    case 'RecordsWithdrawn':
      await tx.execute('DELETE FROM idx_record_locations WHERE patient = $1 AND member = $2', [
        a.patient,
        a.member,
      ]);
      break;
    default:
      // ProposalCreated, VoteCast: kept in chain_events for the governance view; nothing derived.
      break;
  }
}

const SET_CURSOR = `INSERT INTO chain_cursor (id, block_number, block_hash) VALUES (1, $1, $2)
  ON CONFLICT (id) DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash`;

/** ChainIndexStorage on PostgreSQL: event-sourced like SqliteChainIndexStorage. */
export class PostgresChainIndexStorage implements ChainIndexStorage {
  constructor(private readonly db: PostgresDatabase) {}

  async cursor(): Promise<BlockRef | undefined> {
    const [row] = await this.db.query<{ block_number: number; block_hash: string }>(
      'SELECT block_number, block_hash FROM chain_cursor WHERE id = 1',
    );
    return row === undefined ? undefined : { number: row.block_number, hash: row.block_hash as Hex };
  }

  async recentBlocks(limit: number): Promise<BlockRef[]> {
    const rows = await this.db.query<{ number: number; hash: string }>(
      'SELECT number, hash FROM chain_blocks ORDER BY number DESC LIMIT $1',
      [limit],
    );
    return rows.map((row) => ({ number: row.number, hash: row.hash as Hex }));
  }

  async applyBatch(batch: {
    events: readonly IndexedEvent[];
    blocks: readonly BlockRef[];
    cursor: BlockRef;
  }): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const event of batch.events) {
        const inserted = await tx.execute(
          `INSERT INTO chain_events (block_number, log_index, block_hash, tx_hash, contract, name, args)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
          [
            event.blockNumber,
            event.logIndex,
            event.blockHash,
            event.txHash,
            event.contract,
            event.name,
            JSON.stringify(event.args),
          ],
        );
        if (inserted > 0) await applyEvent(tx, event);
      }
      for (const block of batch.blocks) {
        await tx.execute(
          'INSERT INTO chain_blocks (number, hash) VALUES ($1, $2) ON CONFLICT (number) DO UPDATE SET hash = excluded.hash',
          [block.number, block.hash],
        );
      }
      await tx.execute(SET_CURSOR, [batch.cursor.number, batch.cursor.hash]);
      // Keep a bounded window of block hashes for finding a fork point.
      await tx.execute('DELETE FROM chain_blocks WHERE number < $1', [batch.cursor.number - 10_000]);
    });
  }

  async rollbackTo(block: BlockRef | undefined): Promise<void> {
    const keep = block?.number ?? -1;
    await this.db.transaction(async (tx) => {
      await tx.execute('DELETE FROM chain_events WHERE block_number > $1', [keep]);
      await tx.execute('DELETE FROM chain_blocks WHERE number > $1', [keep]);
      for (const table of DERIVED_TABLES) await tx.execute(`DELETE FROM ${table}`);
      const rows = await tx.query<EventRow>('SELECT * FROM chain_events ORDER BY block_number, log_index');
      for (const row of rows) {
        await applyEvent(tx, {
          blockNumber: row.block_number,
          logIndex: row.log_index,
          blockHash: row.block_hash as Hex,
          txHash: row.tx_hash as Hex,
          contract: row.contract,
          name: row.name,
          args: JSON.parse(row.args) as IndexedEvent['args'],
        });
      }
      if (block === undefined) await tx.execute('DELETE FROM chain_cursor');
      else await tx.execute(SET_CURSOR, [block.number, block.hash]);
    });
  }

  async members(): Promise<IndexedMember[]> {
    const rows = await this.db.query<MemberRow>('SELECT * FROM idx_members ORDER BY admitted_block, address');
    return rows.map(toMember);
  }

  async member(address: Address): Promise<IndexedMember | undefined> {
    const [row] = await this.db.query<MemberRow>('SELECT * FROM idx_members WHERE address = $1', [address]);
    return row === undefined ? undefined : toMember(row);
  }

  async grants(filter: {
    patient?: Address;
    grantee?: Address;
    grantIds?: readonly Hex[];
  }): Promise<IndexedGrant[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.patient !== undefined) {
      params.push(filter.patient);
      where.push(`patient = $${params.length}`);
    }
    if (filter.grantee !== undefined) {
      params.push(filter.grantee);
      where.push(`grantee = $${params.length}`);
    }
    if (filter.grantIds !== undefined) {
      if (filter.grantIds.length === 0) return [];
      params.push(filter.grantIds);
      where.push(`grant_id = ANY($${params.length}::text[])`);
    }
    const clause = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
    const rows = await this.db.query<GrantRow>(
      `SELECT * FROM idx_grants ${clause} ORDER BY block_number, grant_id`,
      params,
    );
    return rows.map(toGrant);
  }

  async grant(grantId: Hex): Promise<IndexedGrant | undefined> {
    const [row] = await this.db.query<GrantRow>('SELECT * FROM idx_grants WHERE grant_id = $1', [grantId]);
    return row === undefined ? undefined : toGrant(row);
  }

  async practitioner(address: Address): Promise<IndexedPractitioner | undefined> {
    const [row] = await this.db.query<PractitionerRow>('SELECT * FROM idx_practitioners WHERE address = $1', [
      address,
    ]);
    return row === undefined ? undefined : toPractitioner(row);
  }

  async practitioners(filter: { organization?: Address } = {}): Promise<IndexedPractitioner[]> {
    const rows =
      filter.organization === undefined
        ? await this.db.query<PractitionerRow>(
            'SELECT * FROM idx_practitioners ORDER BY organization, address',
          )
        : await this.db.query<PractitionerRow>(
            'SELECT * FROM idx_practitioners WHERE organization = $1 ORDER BY address',
            [filter.organization],
          );
    return rows.map(toPractitioner);
  }

  async proposals(): Promise<IndexedProposal[]> {
    const rows = await this.db.query<EventRow>(
      `SELECT block_number, tx_hash, name, args FROM chain_events
       WHERE contract = 'registry' AND name IN ('ProposalCreated', 'VoteCast')
       ORDER BY block_number, log_index`,
    );
    return proposalsFromEvents(rows);
  }

  async anchors(origin: string): Promise<IndexedAnchor[]> {
    const rows = await this.db.query<AnchorRow>(
      'SELECT * FROM idx_anchors WHERE origin = $1 ORDER BY tree_size',
      [origin],
    );
    return rows.map(toAnchor);
  }

  async recordLocations(patient: Address): Promise<Address[]> {
    const rows = await this.db.query<{ member: string }>(
      'SELECT member FROM idx_record_locations WHERE patient = $1 ORDER BY block_number, log_index',
      [patient],
    );
    return rows.map((row) => row.member as Address);
  }

  async eventCount(): Promise<number> {
    const [row] = await this.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM chain_events');
    return row?.n ?? 0;
  }
}
