import { K_ROUNDS_POSTGRES_SQL } from './postgres-k-round-storage.js';
import type { PgMigration } from './postgres-migrations.js';

/**
 * The node's PostgreSQL schema: the same tables as the SQLite adapters (src/storage/sqlite), in
 * PostgreSQL types. BIGINT for milliseconds, counts and log indices; BYTEA for hashes and ciphertext.
 * Append a new version for any change; never edit a released one.
 */
export const POSTGRES_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'node tables',
    sql: `
      CREATE TABLE outbox (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        label TEXT NOT NULL,
        sender TEXT NOT NULL,
        recipient TEXT,
        nonce BIGINT NOT NULL,
        raw_tx TEXT NOT NULL,
        tx_hash TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL CHECK (status IN ('sent', 'confirmed', 'failed')),
        block_number BIGINT,
        block_hash TEXT,
        receipt_status TEXT,
        contract_address TEXT,
        error TEXT,
        created_at BIGINT NOT NULL,
        send_attempts INTEGER NOT NULL DEFAULT 0,
        UNIQUE (sender, nonce)
      );
      CREATE INDEX outbox_status ON outbox (sender, status, nonce);
      CREATE INDEX outbox_block ON outbox (sender, status, block_number);

      CREATE TABLE chain_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), block_number BIGINT NOT NULL, block_hash TEXT NOT NULL);
      CREATE TABLE chain_blocks (number BIGINT PRIMARY KEY, hash TEXT NOT NULL);
      CREATE TABLE chain_events (
        block_number BIGINT NOT NULL,
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
        admitted_block BIGINT NOT NULL
      );
      CREATE TABLE idx_grants (
        grant_id TEXT PRIMARY KEY,
        patient TEXT NOT NULL,
        grantee TEXT NOT NULL,
        terms_hash TEXT NOT NULL,
        not_before BIGINT NOT NULL,
        not_after BIGINT NOT NULL,
        nonce TEXT NOT NULL,
        revoked_at BIGINT,
        block_number BIGINT NOT NULL,
        tx_hash TEXT NOT NULL
      );
      CREATE INDEX idx_grants_patient ON idx_grants (patient, grantee);
      CREATE TABLE idx_practitioners (
        address TEXT PRIMARY KEY,
        organization TEXT NOT NULL,
        credential_hash TEXT NOT NULL,
        qualification_code TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        revoked BOOLEAN NOT NULL
      );
      CREATE TABLE idx_anchors (
        origin TEXT NOT NULL,
        tree_size BIGINT NOT NULL,
        root_hash TEXT NOT NULL,
        note_hash TEXT NOT NULL,
        member TEXT NOT NULL,
        anchored_at BIGINT NOT NULL,
        block_number BIGINT NOT NULL,
        tx_hash TEXT NOT NULL,
        PRIMARY KEY (origin, tree_size)
      );
      CREATE TABLE idx_record_locations (
        patient TEXT NOT NULL,
        member TEXT NOT NULL,
        block_number BIGINT NOT NULL,
        log_index INTEGER NOT NULL,
        PRIMARY KEY (patient, member)
      );

      CREATE TABLE log_leaves (
        idx BIGINT PRIMARY KEY,
        leaf_hash BYTEA NOT NULL CHECK (length(leaf_hash) = 32),
        entry BYTEA NOT NULL
      );
      CREATE TABLE log_nodes (
        level INTEGER NOT NULL CHECK (level >= 8 AND level % 8 = 0),
        idx BIGINT NOT NULL,
        hash BYTEA NOT NULL CHECK (length(hash) = 32),
        PRIMARY KEY (level, idx)
      );
      CREATE TABLE log_checkpoints (
        size BIGINT PRIMARY KEY,
        root_hash BYTEA NOT NULL CHECK (length(root_hash) = 32),
        note TEXT NOT NULL,
        cosigned_note TEXT,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE log_witness_state (
        origin TEXT PRIMARY KEY,
        size BIGINT NOT NULL,
        root_hash BYTEA NOT NULL CHECK (length(root_hash) = 32),
        checkpoint TEXT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      -- Leaves and node hashes are append-only, as in SQLite: only someone bypassing the node can
      -- change history, and TransparencyLog.open's start-up audit catches that.
      CREATE FUNCTION careledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$;
      CREATE TRIGGER log_leaves_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON log_leaves
        FOR EACH STATEMENT EXECUTE FUNCTION careledger_append_only();
      CREATE TRIGGER log_nodes_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON log_nodes
        FOR EACH STATEMENT EXECUTE FUNCTION careledger_append_only();

      CREATE TABLE vault_data_keys (
        patient_id TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        kek_id TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        nonce BYTEA NOT NULL,
        wrapped BYTEA NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (patient_id, version)
      );
      CREATE INDEX vault_data_keys_kek ON vault_data_keys (kek_id);
      CREATE TABLE vault_erased_patients (
        patient_hash BYTEA PRIMARY KEY,
        destroyed_at BIGINT NOT NULL
      );

      -- COLLATE "C": byte order, as SQLite compares TEXT, whatever the database's locale; keyset
      -- pages of (patient_id, id) and the (last_updated, id) order must not depend on the server.
      CREATE TABLE vault_records (
        resource_type TEXT COLLATE "C" NOT NULL,
        id TEXT COLLATE "C" NOT NULL,
        version_id INTEGER NOT NULL,
        patient_id TEXT COLLATE "C" NOT NULL,
        last_updated TEXT COLLATE "C" NOT NULL,
        deleted BOOLEAN NOT NULL,
        format INTEGER,
        key_version INTEGER,
        nonce BYTEA,
        ciphertext BYTEA,
        version_hash TEXT NOT NULL,
        log_index BIGINT NOT NULL,
        commitment_salt BYTEA,
        is_current BOOLEAN NOT NULL,
        PRIMARY KEY (resource_type, id, version_id)
      );
      CREATE UNIQUE INDEX vault_records_current ON vault_records (resource_type, id) WHERE is_current;
      CREATE INDEX vault_records_patient ON vault_records (resource_type, patient_id) WHERE is_current;
      CREATE INDEX vault_records_type_log ON vault_records (resource_type, log_index);
      CREATE INDEX vault_records_export ON vault_records (resource_type, patient_id, id) WHERE is_current;
      CREATE TABLE vault_search_index (
        resource_type TEXT COLLATE "C" NOT NULL,
        id TEXT COLLATE "C" NOT NULL,
        param TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE INDEX vault_search_lookup ON vault_search_index (resource_type, param, hash);
      CREATE INDEX vault_search_owner ON vault_search_index (resource_type, id);

      CREATE TABLE export_jobs (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        request TEXT NOT NULL,
        request_url TEXT NOT NULL,
        context TEXT NOT NULL,
        patient_ids TEXT,
        transaction_time TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        completed_at TEXT,
        expires_at TEXT,
        progress TEXT NOT NULL,
        sealed_key TEXT NOT NULL,
        output TEXT NOT NULL,
        errors TEXT NOT NULL,
        failure TEXT,
        attempts INTEGER NOT NULL
      );
      CREATE INDEX export_jobs_status ON export_jobs (status, created_at);

      CREATE TABLE break_glass_sessions (
        id TEXT PRIMARY KEY,
        who TEXT NOT NULL,
        patient_id TEXT NOT NULL,
        started_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        audit_event_id TEXT NOT NULL,
        reviewed_at TEXT,
        reviewer TEXT,
        review_audit_event_id TEXT,
        review_outcome TEXT
      );
      CREATE INDEX break_glass_by_who ON break_glass_sessions (who, patient_id, expires_at);

      CREATE TABLE auth_users (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        fhir_user TEXT NOT NULL UNIQUE,
        body TEXT NOT NULL
      );
      CREATE TABLE auth_clients (client_id TEXT PRIMARY KEY, body TEXT NOT NULL);
      CREATE TABLE auth_codes (code_hash TEXT PRIMARY KEY, body TEXT NOT NULL, used_at BIGINT, family TEXT);
      CREATE TABLE auth_refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        family TEXT NOT NULL,
        body TEXT NOT NULL,
        rotated_at BIGINT,
        revoked_at BIGINT
      );
      CREATE INDEX auth_refresh_family ON auth_refresh_tokens (family);
      CREATE TABLE auth_revoked_tokens (jti TEXT PRIMARY KEY, expires_at BIGINT NOT NULL);
      CREATE TABLE auth_seen_assertions (
        client_id TEXT NOT NULL,
        jti TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (client_id, jti)
      );
      CREATE TABLE auth_throttle (
        key_hash TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        locked_until BIGINT NOT NULL,
        last_failure_at BIGINT NOT NULL
      );
      CREATE TABLE auth_revoked_families (family TEXT PRIMARY KEY, revoked_at BIGINT NOT NULL);
      CREATE TABLE notifications (
        id TEXT PRIMARY KEY,
        recipient TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        read_at TEXT
      );
      CREATE INDEX notifications_recipient ON notifications (recipient, created_at);
    `,
  },
  {
    version: 2,
    name: 'consent openings and key-enrolment challenges',
    sql: `
      CREATE TABLE consent_openings (
        grant_id TEXT PRIMARY KEY,
        patient TEXT NOT NULL,
        sealed TEXT NOT NULL,
        received_at BIGINT NOT NULL
      );
      CREATE INDEX consent_openings_patient ON consent_openings (patient);
      CREATE TABLE ledger_key_challenges (
        nonce TEXT PRIMARY KEY,
        node TEXT NOT NULL,
        patient TEXT NOT NULL,
        key TEXT NOT NULL,
        issued_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        requested_by TEXT NOT NULL,
        used_at BIGINT
      );
    `,
  },
  {
    version: 3,
    name: 'log sequencer lease and pending entries (decision 0022)',
    sql: `
      CREATE TABLE log_sequencer_lease (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        holder TEXT NOT NULL,
        epoch BIGINT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
      );
      CREATE TABLE log_pending (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        payload BYTEA NOT NULL,
        enqueued_at BIGINT NOT NULL,
        first_index BIGINT,
        error TEXT,
        settled_epoch BIGINT
      );
      CREATE INDEX log_pending_open ON log_pending (id) WHERE first_index IS NULL AND error IS NULL;
      ALTER TABLE log_checkpoints ADD COLUMN signed_epoch BIGINT;
    `,
  },
  {
    version: 4,
    name: 'token rate windows and the opening delivery queue',
    sql: `
      CREATE TABLE auth_rate_windows (
        key_hash TEXT PRIMARY KEY,
        window_start BIGINT NOT NULL,
        hits INTEGER NOT NULL
      );
      CREATE TABLE opening_deliveries (
        grant_id TEXT COLLATE "C" NOT NULL,
        member TEXT COLLATE "C" NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL,
        next_attempt_at BIGINT NOT NULL,
        last_error TEXT,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (grant_id, member)
      );
      CREATE INDEX opening_deliveries_due ON opening_deliveries (state, next_attempt_at);
    `,
  },
  {
    version: 5,
    name: 'per-patient claim leases (decision 0019)',
    sql: `
      CREATE TABLE claim_patient_leases (
        patient TEXT COLLATE "C" PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: 'supply chain: EPCIS events, capture jobs, dispensed packs and implanted devices, recalls handled (decision 0023)',
    // The SQLite supply tables (src/supply/storage/sqlite-supply-store.ts) with an explicit EPC
    // position (SQLite keeps the order in rowid). Keys, times and EPCs are COLLATE "C": the query's
    // keyset order and string time bounds are byte order as in SQLite, and an EPC prefix can use the index.
    sql: `
      CREATE TABLE epcis_events (
        event_hash TEXT COLLATE "C" PRIMARY KEY,
        event_id TEXT COLLATE "C",
        event_type TEXT NOT NULL,
        event_time TEXT COLLATE "C" NOT NULL,
        record_time TEXT COLLATE "C" NOT NULL,
        action TEXT,
        biz_step TEXT,
        disposition TEXT,
        biz_location TEXT COLLATE "C",
        read_point TEXT COLLATE "C",
        log_index BIGINT NOT NULL,
        json TEXT NOT NULL
      );
      CREATE INDEX epcis_events_by_time ON epcis_events (event_time);
      CREATE INDEX epcis_events_by_record ON epcis_events (record_time, event_hash);
      CREATE TABLE epcis_event_epcs (
        event_hash TEXT COLLATE "C" NOT NULL REFERENCES epcis_events (event_hash),
        position INTEGER NOT NULL,
        role TEXT NOT NULL,
        epc TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (event_hash, position)
      );
      CREATE INDEX epcis_event_epcs_by_epc ON epcis_event_epcs (epc, role);
      CREATE TABLE supply_dispenses (
        pack_key TEXT COLLATE "C" PRIMARY KEY,
        lot_key TEXT COLLATE "C" NOT NULL,
        medication_dispense_id TEXT NOT NULL,
        patient_id TEXT NOT NULL,
        prescriber TEXT,
        dispensed_at TEXT COLLATE "C" NOT NULL,
        resource_type TEXT NOT NULL DEFAULT 'MedicationDispense'
          CHECK (resource_type IN ('MedicationDispense', 'Device'))
      );
      CREATE INDEX supply_dispenses_by_lot ON supply_dispenses (lot_key);
      CREATE TABLE supply_recalls_handled (
        recall_id TEXT COLLATE "C" PRIMARY KEY,
        patients INTEGER NOT NULL,
        handled_at TEXT NOT NULL
      );
      CREATE TABLE supply_follow_cursor (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        block BIGINT NOT NULL
      );
      CREATE TABLE epcis_capture_jobs (
        capture_id TEXT COLLATE "C" PRIMARY KEY,
        created_at TEXT COLLATE "C" NOT NULL,
        finished_at TEXT,
        running BOOLEAN NOT NULL,
        success BOOLEAN NOT NULL,
        error_behaviour TEXT NOT NULL CHECK (error_behaviour IN ('rollback', 'proceed')),
        event_ids TEXT NOT NULL,
        errors TEXT NOT NULL
      );
      CREATE INDEX epcis_capture_jobs_by_created ON epcis_capture_jobs (created_at, capture_id);
    `,
  },
  {
    version: 7,
    name: 'member state shared by its hosts: secret fingerprints, benefit policies, bulk-export files (decision 0033)',
    // Before, each lived in one host's node folder, so a member on two hosts diverged: a host
    // without the folder's secrets made its own; a policy published through one host was unknown
    // to the other; an export file was only on the host whose process wrote it.
    sql: `
      CREATE TABLE node_secret_fingerprints (
        name TEXT COLLATE "C" PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        recorded_at TEXT NOT NULL
      );
      CREATE TABLE claims_benefit_policies (
        version TEXT COLLATE "C" PRIMARY KEY,
        hash TEXT NOT NULL,
        json TEXT NOT NULL,
        published_at TEXT NOT NULL
      );
      CREATE TABLE export_file_frames (
        job_id TEXT COLLATE "C" NOT NULL,
        file_name TEXT COLLATE "C" NOT NULL,
        frame_index INTEGER NOT NULL CHECK (frame_index >= 0),
        frame BYTEA NOT NULL,
        PRIMARY KEY (job_id, file_name, frame_index)
      );
    `,
  },
  {
    version: 8,
    name: 'study release records and protocol documents (decision 0035)',
    // Before, one JSON file per release in the node folder: a release started through one host of
    // the member had no status, manifest or anchoring retry at the other.
    sql: `
      CREATE TABLE research_releases (
        job_id TEXT COLLATE "C" PRIMARY KEY,
        study_id TEXT COLLATE "C" NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        record TEXT NOT NULL
      );
      CREATE TABLE research_protocols (
        protocol_hash TEXT COLLATE "C" PRIMARY KEY,
        document TEXT NOT NULL
      );
    `,
  },
  {
    version: 9,
    name: 'AuditEvent index rows in a compact table of their own (decision 0039)',
    // Every read writes an AuditEvent; its rows in vault_search_index were most of the bytes a read
    // stored (src/storage/audit-index-rows.ts). Rows of parameters no longer indexed are dropped.
    sql: `
      CREATE TABLE vault_audit_index (
        hash BYTEA NOT NULL,
        log_index BIGINT NOT NULL,
        PRIMARY KEY (hash, log_index)
      );
      INSERT INTO vault_audit_index (hash, log_index)
        SELECT DISTINCT decode(substr(s.hash, 1, 32), 'hex'), r.log_index FROM vault_search_index s
          JOIN vault_records r ON r.resource_type = 'AuditEvent' AND r.id = s.id
        WHERE s.resource_type = 'AuditEvent' AND s.param IN ('patient', 'agent', 'entity', 'subtype')
          AND s.hash ~ '^[0-9a-f]{32}'
        ON CONFLICT DO NOTHING;
      DELETE FROM vault_search_index WHERE resource_type = 'AuditEvent';
    `,
  },
  {
    version: 10,
    name: 'research k rounds kept across a coordinator restart (decision 0050)',
    sql: K_ROUNDS_POSTGRES_SQL,
  },
  {
    version: 11,
    name: 'system history pages by log index across types (decision 0051)',
    // AuditEvents, which system history leaves out, are most rows and stay out of the index.
    sql: `CREATE INDEX vault_records_log ON vault_records (log_index) WHERE resource_type <> 'AuditEvent';`,
  },
];
