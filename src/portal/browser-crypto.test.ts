/**
 * The portal's browser-side crypto (src/portal/app/verify, @noble and WebCrypto only) against the
 * node's implementations (node:crypto) and third-party vectors: RFC 6962 inclusion proofs
 * (transparency-dev/merkle testdata), C2SP tlog-proofs with signed checkpoints and witness
 * cosignatures, the AuditEvent commitment, Web3 Secret Storage keystores (the Definition's scrypt
 * vector) and guardian shares.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createPatientKeystore, openPatientKeystore } from '../identity/patient-keystore.js';
import { combineShares, formatShare, parseShare } from '../identity/shamir.js';
import { formatCheckpoint } from '../log/checkpoint.js';
import { createInclusionProof, createMemoryHashReader, rootAt } from '../log/create-proof.js';
import { hashLeaf as nodeHashLeaf } from '../log/merkle-hash.js';
import {
  createSignerKey,
  formatVerifierKey,
  parseVerifierKey as nodeParseVerifierKey,
  parseSignerKey,
  signNote,
  verifierOf,
} from '../log/signed-note.js';
import { formatTlogProof, verifyTlogProof as nodeVerifyTlogProof } from '../log/tlog-proof.js';
import { verifyInclusionProof } from '../log/verify-proof.js';
import { deriveWitnessVerifierKey } from '../node/witness-keys.js';
import {
  formatAuditEntry,
  LOG_ENTRY_EXTENSION,
  verifyAuditEventCommitment,
} from '../vault/fhir-repository.js';
import { createAuditEntry } from './app/verify/audit-commitment.js';
import { formatShareInBrowser, splitSecretInBrowser } from './app/verify/guardian-shares.js';
import { createKeystoreInBrowser, openKeystoreInBrowser } from './app/verify/patient-keystore.js';
import {
  hashLeaf,
  ProofVerificationError,
  rootFromInclusionProof,
  verifyTlogProof,
  witnessVerifierOf,
} from './app/verify/verify-tlog-proof.js';

const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function failureOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (error) {
    if (error instanceof ProofVerificationError) return `${error.step}:${error.reason}`;
    throw error;
  }
}

describe('RFC 6962 inclusion proofs in the browser', () => {
  // transparency-dev/merkle testdata (Apache-2.0), see test/vectors/transparency-dev-merkle/SOURCE.md.
  const root = join(import.meta.dirname, '../../test/vectors/transparency-dev-merkle/testdata/inclusion');
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : name.endsWith('.json') ? [path] : [];
    });
  const vectors = walk(root);

  test('agree with the node implementation on every transparency-dev vector', () => {
    expect(vectors.length).toBeGreaterThan(10);
    for (const path of vectors) {
      const v = JSON.parse(readFileSync(path, 'utf8')) as {
        leafIdx: number;
        treeSize: number;
        root: string;
        leafHash: string;
        proof: string[] | null;
        wantErr: boolean;
      };
      const proof = (v.proof ?? []).map(b64);
      let nodeOk = true;
      try {
        verifyInclusionProof(b64(v.leafHash), v.leafIdx, v.treeSize, proof, b64(v.root));
      } catch {
        nodeOk = false;
      }
      let browserOk = true;
      try {
        browserOk =
          hex(rootFromInclusionProof(b64(v.leafHash), v.leafIdx, v.treeSize, proof)) === hex(b64(v.root));
      } catch {
        browserOk = false;
      }
      expect({ path, ok: browserOk }).toEqual({ path, ok: nodeOk });
      expect(browserOk).toBe(!v.wantErr);
    }
  });

  test('hash leaves as the node does', () => {
    const entry = new TextEncoder().encode('{"t":"audit","c":"00"}');
    expect(hex(hashLeaf(entry))).toBe(hex(nodeHashLeaf(entry)));
  });
});

describe('C2SP tlog-proofs in the browser', () => {
  const origin = 'hospital.careledger.test/log';
  const logKey = createSignerKey(origin);
  const signer = parseSignerKey(logKey.signerKey);
  const witnessLog = createSignerKey('lab.careledger.test/log');
  // A member's witness signs with its log key as a cosignature/v1 key (src/node/witness-keys.ts).
  // PRIVATE+KEY+<name>+<id>+<base64>: the base64 part may itself contain '+'.
  const witnessSeed = witnessLog.signerKey.split('+').slice(4).join('+');
  const witnessVerifierText = deriveWitnessVerifierKey(witnessLog.verifierKey, 'lab.careledger.test/log');
  const witnessPublic = nodeParseVerifierKey(witnessVerifierText);
  const witnessSigner = parseSignerKey(
    `PRIVATE+KEY+${witnessPublic.name}+${hex(witnessPublic.keyId)}+${Buffer.concat([
      Uint8Array.of(0x04),
      b64(witnessSeed).subarray(1),
    ]).toString('base64')}`,
  );
  const entries = Array.from({ length: 11 }, (_, i) => new TextEncoder().encode(`entry-${i}`));
  const reader = createMemoryHashReader(entries.map(nodeHashLeaf));
  const checkpoint = signNote(
    formatCheckpoint({ origin, size: 11, rootHash: rootAt(reader, 11) }),
    [signer, witnessSigner],
    {
      timestamp: 1_780_000_000,
    },
  );
  const proofText = (index: number) =>
    formatTlogProof({
      extra: entries[index],
      index,
      proof: createInclusionProof(reader, index, 11),
      checkpoint,
    });
  const witness = witnessVerifierOf(witnessLog.verifierKey, 'lab.careledger.test/log');

  test('derive the witness key as the node does', () => {
    expect(hex(witness.keyId)).toBe(hex(witnessPublic.keyId));
    expect(hex(witness.publicKey)).toBe(hex(witnessPublic.publicKey));
  });

  test('verify what the node verifies: log signature, a witness cosignature, inclusion', () => {
    for (const index of [0, 5, 10]) {
      const text = proofText(index);
      nodeVerifyTlogProof(text, {
        logVerifier: verifierOf(signer),
        witnessVerifiers: [witnessPublic],
        witnessThreshold: 1,
        entry: entries[index],
      });
      const verified = verifyTlogProof(text, {
        logVerifierKey: formatVerifierKey(origin, 'ed25519', signer.publicKey),
        witnesses: [witness],
        witnessThreshold: 1,
        entry: entries[index] as Uint8Array,
        index,
      });
      expect(verified.checkpoint.size).toBe(11);
      expect(verified.witnesses).toEqual(['lab.careledger.test/log/witness']);
    }
  });

  test('refuse, naming the step, what the node refuses', () => {
    const options = {
      logVerifierKey: logKey.verifierKey,
      witnesses: [witness],
      witnessThreshold: 1,
      entry: entries[3] as Uint8Array,
      index: 3,
    };
    const text = proofText(3);
    const lines = text.split('\n');
    const flip = (at: number) => {
      const copy = [...lines];
      const line = copy[at] as string;
      copy[at] = `${line[0] === 'A' ? 'B' : 'A'}${line.slice(1)}`;
      return copy.join('\n');
    };
    const proofLine = lines.findIndex((l) => l.startsWith('index ')) + 1;
    expect(failureOf(() => verifyTlogProof(flip(proofLine), options))).toBe('inclusion:root-mismatch');
    const rootLine = lines.findIndex((l, i) => i > proofLine && l === '11') + 1;
    expect(failureOf(() => verifyTlogProof(flip(rootLine), options))).toBe('log-signature:signature-invalid');
    expect(failureOf(() => verifyTlogProof(text, { ...options, entry: entries[4] as Uint8Array }))).toBe(
      'inclusion:root-mismatch',
    );
    expect(failureOf(() => verifyTlogProof(text, { ...options, witnessThreshold: 2 }))).toBe(
      'cosignatures:insufficient-signatures',
    );
    expect(
      failureOf(() => verifyTlogProof(text, { ...options, logVerifierKey: witnessLog.verifierKey })),
    ).toBe('log-signature:origin-mismatch');
    expect(failureOf(() => verifyTlogProof(text, { ...options, index: 4 }))).toBe('parse:index-mismatch');
    expect(failureOf(() => verifyTlogProof(text.replace('c2sp.org', 'c2sp.net'), options))).toBe(
      'parse:header',
    );
  });
});

describe('the AuditEvent commitment in the browser', () => {
  test('is the log entry the vault wrote, and the vault accepts it', () => {
    const auditEvent = {
      resourceType: 'AuditEvent',
      id: 'ae-1',
      recorded: '2026-01-01T00:00:00.000Z',
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
      agent: [{ who: { reference: 'Practitioner/dr-1' }, requestor: true }],
      source: { site: 'hospital.careledger.test/log', observer: { display: 'Ünïcode Hospital' } },
      extension: [{ url: 'https://example.org/other', valueString: 'kept' }],
    };
    const salt = new Uint8Array(16).fill(7);
    const served = {
      ...auditEvent,
      extension: [
        ...auditEvent.extension,
        {
          url: LOG_ENTRY_EXTENSION,
          extension: [
            { url: 'index', valueInteger: 9 },
            { url: 'proof', valueUrl: '/log/proof/9' },
            { url: 'salt', valueBase64Binary: Buffer.from(salt).toString('base64') },
          ],
        },
      ],
    };
    const browserEntry = createAuditEntry(served);
    expect(new TextDecoder().decode(browserEntry)).toBe(
      new TextDecoder().decode(formatAuditEntry(auditEvent as never, salt)),
    );
    verifyAuditEventCommitment(served as never, browserEntry);
  });
});

describe('patient keystores in the browser', () => {
  test('open the Web3 Secret Storage Definition scrypt vector', async () => {
    // ethereum.org Web3 Secret Storage Definition, see test/vectors/web3-secret-storage/SOURCE.md.
    const vector = JSON.parse(
      readFileSync(
        join(import.meta.dirname, '../../test/vectors/web3-secret-storage/definition-v3.json'),
        'utf8',
      ),
    ) as {
      details: { address: string; password: string; secret: string };
      scrypt: { json: { crypto: never } };
    };
    const key = await openKeystoreInBrowser(
      { address: vector.details.address, crypto: vector.scrypt.json.crypto },
      vector.details.password,
    );
    expect(hex(key)).toBe(vector.details.secret);
  }, 60_000);

  test('open what the node writes, and write what the node opens', async () => {
    const privateKey = `0x${'11'.repeat(32)}` as const;
    const keystore = await createPatientKeystore(privateKey, 'correct horse battery', { n: 2 ** 15 });
    expect(hex(await openKeystoreInBrowser(keystore, 'correct horse battery'))).toBe('11'.repeat(32));
    await expect(openKeystoreInBrowser(keystore, 'wrong passphrase')).rejects.toThrow('wrong passphrase');
    const written = await createKeystoreInBrowser(
      new Uint8Array(32).fill(0x11),
      'new passphrase here',
      2 ** 15,
    );
    expect(await openPatientKeystore(written, 'new passphrase here')).toBe(privateKey);
  });
});

describe('guardian shares made in the browser', () => {
  test('use the CLI text format and recombine with the node code', async () => {
    const secret = new Uint8Array(32).map((_, i) => i * 7);
    const fixed = { x: 3, y: new Uint8Array([1, 2, 255]) };
    expect(formatShareInBrowser(fixed, { id: 'abc', threshold: 2 })).toBe(
      formatShare(fixed, { id: 'abc', threshold: 2 }),
    );
    const shares = (await splitSecretInBrowser(secret, 5, 3)).map((s) =>
      parseShare(formatShareInBrowser(s, { id: 'split1', threshold: 3 })),
    );
    expect(hex(await combineShares([shares[0], shares[2], shares[4]] as never, { threshold: 3 }))).toBe(
      hex(secret),
    );
    expect(hex(await combineShares([shares[1], shares[3]] as never))).not.toBe(hex(secret));
  });
});
