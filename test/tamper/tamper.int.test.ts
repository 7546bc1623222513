/**
 * Tamper test (issue "Benchmarks and reliability harness", item 3): an attacker with write access to
 * the node's files flips bytes in stored ciphertexts, wrapped data keys, log rows, checkpoints, served
 * tiles and proofs, and the keystore file. Every change must be detected (an OperationOutcome at read,
 * a failed proof or audit, a failed start-up check, a keystore that refuses to open), and none may yield
 * plaintext or a proof that verifies. Byte positions come from a seeded generator, so runs repeat.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessPolicy } from '../../src/access/index.js';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { type AnchoredCheckpoint, auditLog, type LogLedger } from '../../src/cli/commands/log-audit.js';
import { evaluateTlogProof, parseProofPolicy } from '../../src/cli/commands/proof-verify.js';
import { CareLedgerError, type ErrorCode } from '../../src/errors/index.js';
import { createAuthenticator } from '../../src/http/authenticate-request.js';
import { createNodeApp } from '../../src/http/create-node-app.js';
import { HTTP_STATUS } from '../../src/http/error-response.js';
import { createFhirRoutes } from '../../src/http/routes/fhir-routes.js';
import { createLogRoutes } from '../../src/http/routes/log-routes.js';
import {
  createSignerKey,
  hashLeaf,
  parseCheckpoint,
  TransparencyLog,
  verifyInclusionProof,
  verifyNote,
} from '../../src/log/index.js';
import { openDatabase, type SqliteDatabase } from '../../src/storage/sqlite/open-database.js';
import { createSqliteKeyStore } from '../../src/storage/sqlite/sqlite-key-store.js';
import { logMigrations, SqliteLogStorage } from '../../src/storage/sqlite/sqlite-log-storage.js';
import { SqliteRecordStorage } from '../../src/storage/sqlite/sqlite-record-storage.js';
import { FhirRepository } from '../../src/vault/fhir-repository.js';
import {
  createLocalKeystore,
  type LocalKeystoreKeyProvider,
  MIN_SCRYPT_COST,
  openLocalKeystore,
} from '../../src/vault/local-keystore-key-provider.js';
import { VaultCrypto } from '../../src/vault/vault-crypto.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';
import { createRandom } from '../support/seeded-random.js';

const NODE_ADDRESS = '0x00000000000000000000000000000000000000aa';
/** A family name that appears nowhere but inside the Patient's ciphertext. */
const MARKER = 'Zwyrtkowska';
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
const headers = { 'x-careledger-identity': 'Practitioner/dr-1', 'content-type': 'application/fhir+json' };

/** Whole numbers below `below` from a seeded generator, so every run flips the same bytes. */
function seeded(seed: number): (below: number) => number {
  const random = createRandom(seed);
  return (below) => Math.floor(random() * below);
}

/** A copy of `bytes` with one bit of byte `position` flipped. */
function flipBit(bytes: Uint8Array, position: number, bit: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[position] = (copy[position] as number) ^ (1 << bit);
  return copy;
}

/** `count` distinct seeded positions below `length` (all of them if there are fewer). */
function positions(random: (below: number) => number, length: number, count: number): number[] {
  const picked = new Set<number>();
  while (picked.size < Math.min(count, length)) picked.add(random(length));
  return [...picked].sort((a, b) => a - b);
}

function expectCareLedgerError(error: unknown, codes: readonly ErrorCode[]): void {
  expect(error).toBeInstanceOf(CareLedgerError);
  expect(codes).toContain((error as CareLedgerError).code);
}

/** A proof that is well formed but does not reach the signed root: the tamper, not a test slip. */
function expectRootMismatch(error: unknown): void {
  expectCareLedgerError(error, ['ERR_LOG_PROOF_INVALID']);
  expect((error as CareLedgerError).details).toMatchObject({ check: 'root-mismatch' });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return undefined;
}

function catching(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('tampered vault rows (real SQLite vault, FHIR routes in-process)', () => {
  let vault: TestVault;
  let keystore: LocalKeystoreKeyProvider;
  let patientId: string;

  /** The node after a restart: a fresh VaultCrypto (no cached data keys) over the same files. */
  async function restartedApp() {
    const crypto = await VaultCrypto.create({
      keyProvider: keystore,
      dataKeys: await createSqliteKeyStore(vault.db, keystore),
    });
    const now = () => vault.clock.now;
    const repo = new FhirRepository({
      storage: new SqliteRecordStorage(vault.db),
      crypto,
      log: vault.log,
      observer: { display: 'Riverside General Hospital', origin: 'test.example/log' },
      now,
      breakGlass: vault.breakGlass,
      policy: new AccessPolicy({
        consent: vault.grants.decide,
        nodeAddress: NODE_ADDRESS,
        breakGlass: vault.breakGlass,
        now,
      }),
    });
    const app = createNodeApp();
    app.route(
      '/fhir',
      createFhirRoutes({
        repository: repo,
        software: { name: 'CareLedger', version: 'test' },
        authenticate: createAuthenticator({ organization: 'Test', devIdentityHeader: true }),
      }),
    );
    return app;
  }

  /**
   * Read and search of the Patient: both must answer an OperationOutcome carrying one of `codes`, with
   * the status the error table gives it, and leak nothing of the resource.
   */
  async function expectNoPlaintext(app: ReturnType<typeof createNodeApp>, codes: readonly ErrorCode[]) {
    for (const path of [`/fhir/Patient/${patientId}`, `/fhir/Patient?family=${MARKER}`]) {
      const response = await app.request(path, { headers });
      const text = await response.text();
      // A searchset's links echo the query the requester sent; nothing else may hold the marker.
      expect(text.replace(/"link":\[[^\]]*\]/, ''), path).not.toContain(MARKER);
      const body = JSON.parse(text) as { resourceType: string; issue: { details: { text: ErrorCode } }[] };
      if (body.resourceType === 'Bundle' && path.includes('?')) {
        // Issue 14 item 8: a search serves what verifies and reports, without PHI, what did not.
        const entries = (
          body as unknown as {
            entry: { search: { mode: string }; resource: { issue?: { severity: string }[] } }[];
          }
        ).entry;
        expect(
          entries.filter((e) => e.search.mode === 'match'),
          path,
        ).toEqual([]);
        expect(entries.find((e) => e.search.mode === 'outcome')?.resource.issue?.[0]?.severity, path).toBe(
          'error',
        );
        continue;
      }
      expect(body.resourceType, path).toBe('OperationOutcome');
      const code = body.issue[0]?.details.text as ErrorCode;
      expect(codes, path).toContain(code);
      expect(response.status, path).toBe(HTTP_STATUS[code]);
    }
  }

  async function expectPlaintextServed(app: ReturnType<typeof createNodeApp>) {
    const read = await app.request(`/fhir/Patient/${patientId}`, { headers });
    expect(read.status).toBe(200);
    expect(await read.text()).toContain(MARKER);
  }

  beforeAll(async () => {
    vault = await openTestVault(NODE_ADDRESS);
    keystore = await openLocalKeystore(join(vault.dir, 'keystore.json'), 'test passphrase');
    const patient = await vault.repo.create(
      { resourceType: 'Patient', name: [{ family: MARKER, given: ['Ada'] }] },
      clinician,
    );
    patientId = patient.id as string;
  });

  afterAll(() => vault?.close());

  it('a flipped bit in a record ciphertext or nonce answers an OperationOutcome with no plaintext', async () => {
    // ERR_DECRYPT is a 500 in the one error table (src/http/error-response.ts).
    expect(HTTP_STATUS.ERR_DECRYPT).toBe(500);
    const row = vault.db
      .prepare(
        "SELECT ciphertext, nonce FROM vault_records WHERE resource_type = 'Patient' AND id = ? AND is_current = 1",
      )
      .get(patientId) as { ciphertext: Buffer; nonce: Buffer };
    const app = await restartedApp();
    await expectPlaintextServed(app);
    const random = seeded(0x7a3b1);
    for (const column of ['ciphertext', 'nonce'] as const) {
      const original = row[column];
      const update = vault.db.prepare(
        `UPDATE vault_records SET ${column} = ? WHERE resource_type = 'Patient' AND id = ? AND is_current = 1`,
      );
      // The GCM tag is the last 16 bytes of the ciphertext: make sure it is among the flipped ones.
      const picked = positions(random, original.length, column === 'ciphertext' ? 10 : 4);
      if (column === 'ciphertext') picked.push(original.length - 1);
      for (const position of picked) {
        update.run(flipBit(original, position, random(8)), patientId);
        try {
          await expectNoPlaintext(app, ['ERR_DECRYPT']);
        } finally {
          update.run(original, patientId);
        }
      }
    }
    await expectPlaintextServed(app);
  });

  it('a flipped bit in a wrapped data key row makes the patient unreadable after a restart', async () => {
    const select = vault.db.prepare('SELECT * FROM vault_data_keys WHERE patient_id = ?');
    const rows = select.all(patientId) as {
      version: number;
      wrapped: Buffer;
      nonce: Buffer;
      kek_id: string;
    }[];
    expect(rows).toHaveLength(1);
    const row = rows[0] as (typeof rows)[number];
    const random = seeded(0x5eed2);
    const cases: { column: 'wrapped' | 'nonce' | 'kek_id'; value: Buffer | string }[] = [
      ...positions(random, row.wrapped.length, 8).map((p) => ({
        column: 'wrapped' as const,
        value: flipBit(row.wrapped, p, random(8)),
      })),
      ...positions(random, row.nonce.length, 3).map((p) => ({
        column: 'nonce' as const,
        value: flipBit(row.nonce, p, random(8)),
      })),
      // The KEK id names which key unwraps: a changed one must not find another key.
      { column: 'kek_id', value: `${row.kek_id.slice(0, -1)}${row.kek_id.endsWith('0') ? '1' : '0'}` },
    ];
    for (const { column, value } of cases) {
      const update = vault.db.prepare(
        `UPDATE vault_data_keys SET ${column} = ? WHERE patient_id = ? AND version = ?`,
      );
      update.run(value, patientId, row.version);
      try {
        // ERR_DECRYPT (unwrap failed) or, for the KEK id, ERR_KEYSTORE (unknown KEK).
        await expectNoPlaintext(
          await restartedApp(),
          column === 'kek_id' ? ['ERR_KEYSTORE'] : ['ERR_DECRYPT'],
        );
      } finally {
        update.run(row[column], patientId, row.version);
      }
    }
    await expectPlaintextServed(await restartedApp());
  });
});

describe('tampered transparency log (real SQLite log, 600 entries, 2 full tiles)', () => {
  const ORIGIN = 'tamper.example/log';
  const SIZE = 600;
  const keys = createSignerKey(ORIGIN);
  const entry = (i: number): Uint8Array => new TextEncoder().encode(`audit-event-${i}-${'x'.repeat(i % 7)}`);
  let dir: string;
  let db: SqliteDatabase;
  let log: TransparencyLog;
  let checkpoint: { size: number; rootHash: Uint8Array; note: string };

  const reopen = () => TransparencyLog.open({ storage: new SqliteLogStorage(db), signerKey: keys.signerKey });

  /** An auditor's view of the signed checkpoint: verified with the log's key, then parsed. */
  function verifiedRoot(note: string): Uint8Array {
    return parseCheckpoint(verifyNote(note, [log.verifier]).text).rootHash;
  }

  /** Whether a fresh inclusion proof of `index` (from storage) verifies against the signed root. */
  async function proofVerifies(index: number, leaf: Uint8Array): Promise<unknown> {
    const proof = await log.createInclusionProof(index, checkpoint.size);
    return catching(() =>
      verifyInclusionProof(hashLeaf(leaf), index, checkpoint.size, proof, verifiedRoot(checkpoint.note)),
    );
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'careledger-tamper-log-'));
    db = openDatabase(join(dir, 'log.db'), logMigrations);
    log = await reopen();
    await Promise.all(Array.from({ length: SIZE }, (_, i) => log.append(entry(i))));
    checkpoint = await log.checkpoint();
    // The attacker edits the file directly: the append-only triggers are no obstacle to them.
    for (const trigger of ['log_leaves_no_update', 'log_nodes_no_update']) db.exec(`DROP TRIGGER ${trigger}`);
  });

  afterAll(async () => {
    await log?.stop();
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a flipped bit in a leaf entry fails the start-up check and every proof and tlog proof of it', async () => {
    const random = seeded(0x10a7);
    const select = db.prepare('SELECT entry FROM log_leaves WHERE idx = ?');
    const update = db.prepare('UPDATE log_leaves SET entry = ? WHERE idx = ?');
    const policy = parseProofPolicy(`log ${keys.verifierKey}\n`);
    // Indices in the first full tile, the second, and the partial tile at the right edge.
    for (const index of [0, 7, 255, 256, 300, 511, 512, 599, ...positions(random, SIZE, 6)]) {
      const original = (select.get(index) as { entry: Buffer }).entry;
      const tampered = flipBit(original, random(original.length), random(8));
      update.run(tampered, index);
      try {
        expectCareLedgerError(await rejection(reopen()), ['ERR_STORAGE']);
        expectRootMismatch(await proofVerifies(index, await log.readEntry(index)));
        const report = evaluateTlogProof(await log.createTlogProof(index), policy);
        expect(report).toMatchObject({ ok: false, step: 'inclusion' });
      } finally {
        update.run(original, index);
      }
    }
    // Restored: the start-up check passes and the entries prove again.
    await (await reopen()).stop();
    expect(await proofVerifies(300, entry(300))).toBeUndefined();
    expect(evaluateTlogProof(await log.createTlogProof(300), policy).ok).toBe(true);
  });

  it('a flipped bit in a stored leaf hash or node hash fails the start-up check and the proofs through it', async () => {
    const random = seeded(0x40de);
    const selectLeaf = db.prepare('SELECT leaf_hash FROM log_leaves WHERE idx = ?');
    const updateLeaf = db.prepare('UPDATE log_leaves SET leaf_hash = ? WHERE idx = ?');
    for (const index of [4, 300, 598, ...positions(random, SIZE, 4)]) {
      const original = (selectLeaf.get(index) as { leaf_hash: Buffer }).leaf_hash;
      updateLeaf.run(flipBit(original, random(32), random(8)), index);
      try {
        expectCareLedgerError(await rejection(reopen()), ['ERR_STORAGE', 'ERR_LOG_EQUIVOCATION']);
        // The sibling's proof carries the altered hash, so it no longer reaches the signed root.
        const sibling = index ^ 1;
        expectRootMismatch(await proofVerifies(sibling, entry(sibling)));
      } finally {
        updateLeaf.run(original, index);
      }
    }

    const selectNode = db.prepare('SELECT hash FROM log_nodes WHERE level = 8 AND idx = ?');
    const updateNode = db.prepare('UPDATE log_nodes SET hash = ? WHERE level = 8 AND idx = ?');
    expect((db.prepare('SELECT count(*) AS n FROM log_nodes').get() as { n: number }).n).toBe(2);
    for (const [node, provenIndex] of [
      [0, 300],
      [1, 5],
      [1, 599],
    ] as const) {
      const original = (selectNode.get(node) as { hash: Buffer }).hash;
      updateNode.run(flipBit(original, random(32), random(8)), node);
      try {
        expectCareLedgerError(await rejection(reopen()), ['ERR_STORAGE', 'ERR_LOG_EQUIVOCATION']);
        expect(Buffer.from(await log.rootAt(checkpoint.size)).equals(Buffer.from(checkpoint.rootHash))).toBe(
          false,
        );
        expectRootMismatch(await proofVerifies(provenIndex, entry(provenIndex)));
      } finally {
        updateNode.run(original, node);
      }
    }
    await (await reopen()).stop();
  });

  it('a flipped bit in a stored checkpoint fails its verification with the log key and the start-up check', async () => {
    const random = seeded(0xc4e1);
    const row = db.prepare('SELECT note, root_hash FROM log_checkpoints WHERE size = ?').get(SIZE) as {
      note: string;
      root_hash: Buffer;
    };
    const updateNote = db.prepare('UPDATE log_checkpoints SET note = ? WHERE size = ?');
    const noteBytes = Buffer.from(row.note, 'utf8');
    const undetected: number[] = [];
    // Every byte of the signed note, one seeded bit each.
    for (let position = 0; position < noteBytes.length; position++) {
      const tampered = flipBit(noteBytes, position, random(8)).toString('utf8');
      if (tampered === row.note) continue;
      const error = catching(() => verifiedRoot(tampered));
      if (!(error instanceof CareLedgerError)) {
        undetected.push(position);
        continue;
      }
      expect(['ERR_LOG_NOTE_INVALID', 'ERR_LOG_CHECKPOINT_INVALID']).toContain(error.code);
    }
    expect(undetected).toEqual([]);

    for (const position of positions(random, noteBytes.length, 6)) {
      updateNote.run(flipBit(noteBytes, position, random(8)).toString('utf8'), SIZE);
      try {
        expectCareLedgerError(await rejection(reopen()), ['ERR_STORAGE']);
      } finally {
        updateNote.run(row.note, SIZE);
      }
    }
    // The root column beside the note must agree with the signed note.
    const updateRoot = db.prepare('UPDATE log_checkpoints SET root_hash = ? WHERE size = ?');
    updateRoot.run(flipBit(row.root_hash, random(32), random(8)), SIZE);
    try {
      expectCareLedgerError(await rejection(reopen()), ['ERR_STORAGE', 'ERR_LOG_EQUIVOCATION']);
    } finally {
      updateRoot.run(row.root_hash, SIZE);
    }
    await (await reopen()).stop();
  });

  it('a flipped bit in a tlog-proof file never verifies', async () => {
    const policy = parseProofPolicy(`log ${keys.verifierKey}\n`);
    const random = seeded(0x9f00f);
    for (const index of [0, 300, 599]) {
      const proof = Buffer.from(await log.createTlogProof(index), 'utf8');
      expect(evaluateTlogProof(proof, policy).ok).toBe(true);
      const verified: number[] = [];
      // Every byte of the file, one seeded bit each.
      for (let position = 0; position < proof.length; position++) {
        const report = evaluateTlogProof(flipBit(proof, position, random(8)), policy);
        if (report.ok) verified.push(position);
      }
      expect(verified).toEqual([]);
    }
  });

  it('a flipped bit in a tile or checkpoint served over HTTP fails `log audit`', async () => {
    const app = new Hono();
    app.route('/log', createLogRoutes(log));
    const note = checkpoint.note;
    const anchor: AnchoredCheckpoint = {
      treeSize: checkpoint.size,
      rootHash: checkpoint.rootHash,
      noteHash: `0x${createHash('sha256').update(note, 'utf8').digest('hex')}`,
      member: NODE_ADDRESS,
      anchoredAt: 0,
      blockNumber: 1,
    };
    // The ledger's answers as the chain gives them (test/cli/log-audit.int.test.ts runs them on anvil);
    // here the node's HTTP answers are what is tampered with.
    const ledger: LogLedger = {
      ownerOf: async (origin) =>
        origin === ORIGIN
          ? { address: NODE_ADDRESS, name: 'Tamper Hospital', logVerifierKey: keys.verifierKey }
          : undefined,
      anchorsOf: async () => [anchor],
    };
    const random = seeded(0x711e5);
    const audit = (target?: string) =>
      auditLog({
        nodeUrl: 'http://node.test',
        ledger,
        fetch: async (input, init) => {
          const request = new Request(input, init);
          const response = await app.fetch(request);
          if (target === undefined || new URL(request.url).pathname !== target) return response;
          const body = new Uint8Array(await response.arrayBuffer());
          return new Response(flipBit(body, random(body.length), random(8)), {
            status: response.status,
            headers: response.headers,
          });
        },
      });

    const honest = await audit();
    expect(honest.problems).toEqual([]);
    expect(honest.ok).toBe(true);
    const paths = [
      '/log/checkpoint',
      '/log/tile/0/000',
      '/log/tile/0/001',
      '/log/tile/0/002.p/88',
      '/log/tile/1/000.p/2',
      '/log/tile/entries/000',
      '/log/tile/entries/001',
      '/log/tile/entries/002.p/88',
    ];
    for (const path of paths) {
      for (let trial = 0; trial < 3; trial++) {
        const report = await audit(path);
        expect(report.ok, `${path} trial ${trial}`).toBe(false);
        expect(report.problems.length, path).toBeGreaterThan(0);
      }
    }
  });
});

describe('tampered keystore file', () => {
  let dir: string;
  let original: Buffer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'careledger-tamper-keystore-'));
    await createLocalKeystore(join(dir, 'keystore.json'), 'correct horse', { scryptCost: MIN_SCRYPT_COST });
    original = readFileSync(join(dir, 'keystore.json'));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a flipped bit anywhere in the keystore file makes it fail to open with a typed error', async () => {
    const path = join(dir, 'tampered.json');
    writeFileSync(path, original);
    await openLocalKeystore(path, 'correct horse');
    const random = seeded(0x4b57);
    const text = original.toString('utf8');
    // Seeded positions, plus one inside each of the salt, the nonce and the ciphertext.
    const picked = positions(random, original.length, 16);
    for (const field of ['"salt": "', '"nonce": "', '"ciphertext": "'])
      picked.push(text.indexOf(field) + field.length + 3);
    const opened: number[] = [];
    for (const position of picked) {
      writeFileSync(path, flipBit(original, position, random(8)));
      const error = await rejection(openLocalKeystore(path, 'correct horse'));
      if (error === undefined) {
        opened.push(position);
        continue;
      }
      expectCareLedgerError(error, ['ERR_KEYSTORE', 'ERR_DECRYPT']);
    }
    expect(opened).toEqual([]);
  });
});
