/**
 * Property-based and mutation fuzzing of the parsers that take untrusted input (FHIR JSON, search
 * parameters, signed notes, checkpoints, tlog-proofs, EIP-712 grant bodies, Bundle references, SMART
 * scopes, guardian shares): each either returns or throws a CareLedgerError, never a TypeError,
 * RangeError or other untyped error. A hang shows as the test timeout. The corpus
 * (corpus/parsers.json) is replayed before the random inputs.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSignedGrant } from '../../src/consent/index.js';
import { CareLedgerError } from '../../src/errors/index.js';
import { rewriteBundleReferences } from '../../src/fhir/bundle/index.js';
import { parseStrictJson } from '../../src/fhir/parse-strict-json.js';
import { planSearch } from '../../src/fhir/search/index.js';
import { parseResource } from '../../src/fhir/validate-resource.js';
import { formatShare, parseShare, type Share, splitSecret } from '../../src/identity/index.js';
import { createConsentDomain } from '../../src/ledger/index.js';
import {
  createSignerKey,
  formatCheckpoint,
  formatTlogProof,
  parseCheckpoint,
  parseSignedNote,
  parseSignerKey,
  parseTlogProof,
  parseVerifierKey,
  signNote,
  verifyNote,
} from '../../src/log/index.js';
import { parseScopes } from '../../src/smart/index.js';
import { signGrantForNewPatient } from '../support/consent-signer.js';
import { FUZZ_SEED, fuzzOptions, loadCorpus } from './fuzz-config.js';
import { mutatedJson, mutatedText } from './mutate.js';
import { BUNDLE_SEED, FHIR_SEEDS } from './seeds.js';

interface ParserCase {
  readonly parser: string;
  readonly input: unknown;
  readonly note?: string;
  /** The parser must refuse this input with a CareLedgerError (a finding that was accepted before). */
  readonly refused?: boolean;
}

/** The property every parser must hold: a value or a CareLedgerError, nothing else. */
function returnsOrThrowsTyped(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof CareLedgerError)) throw error;
  }
}

async function returnsOrRejectsTyped(run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (!(error instanceof CareLedgerError)) throw error;
  }
}

const keyedHash = (value: string) => createHash('sha256').update(value).digest('hex');
const domain = createConsentDomain(31337, '0x5FbDB2315678afecb367f032d93F642f64180aa3');

const { signerKey, verifierKey } = createSignerKey('fuzz.careledger.test/log');
const signer = parseSignerKey(signerKey);
const verifier = parseVerifierKey(verifierKey);
const checkpointText = formatCheckpoint({
  origin: 'fuzz.careledger.test/log',
  size: 3,
  rootHash: new Uint8Array(32).fill(7),
});
const signedCheckpoint = signNote(checkpointText, [signer]);
const tlogProofText = formatTlogProof({
  index: 1,
  proof: [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)],
  checkpoint: signedCheckpoint,
  extra: new TextEncoder().encode('entry'),
});
const shareText = formatShare(
  (await splitSecret(new Uint8Array(32).fill(9), { shares: 3, threshold: 2 }))[0] as Share,
  { id: 'fuzz-split', threshold: 2 },
);

const searchResourceType = fc.oneof(
  fc.constantFrom('Patient', 'Observation', 'Condition', 'Encounter', 'Consent', 'AuditEvent', 'Bundle'),
  fc.string({ maxLength: 12 }),
);
const searchKey = fc.oneof(
  fc.constantFrom(
    'date',
    'birthdate',
    '_count',
    '_offset',
    '_sort',
    '_id',
    '_lastUpdated',
    '_include',
    '_revinclude',
    '_total',
    'code:in',
    'code:text',
    'subject',
    'subject:Patient',
    'subject.name',
    'patient',
    'name:exact',
    'identifier',
    'value-quantity',
    'gender:not',
    '_has:Observation:subject:code',
  ),
  fc.string({ maxLength: 12 }),
);
const searchValue = fc.oneof(
  fc.constantFrom(
    'ge2020',
    'lt2020-13-45',
    'ap2024-05-01T10:30:00Z',
    'eq',
    '-1',
    '0',
    '1e9',
    '99999999999999999999',
    '-_lastUpdated,name',
    'Patient/../x',
    'http://loinc.org|2339-0',
    '|',
    'gt95.5|http://unitsofmeasure.org|mg/dL',
    'Observation:subject',
    '*',
    'accurate',
    '',
  ),
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
);

const parsers: Record<string, (input: unknown) => unknown> = {
  parseResource: (input) => parseResource(input),
  parseStrictJson: (input) => parseStrictJson(input as string),
  /** JSON text through the HTTP body parser, then the validator, as POST /fhir/{type} does. */
  parseResourceText: (input) => parseResource(parseStrictJson(input as string)),
  planSearch: (input) => {
    const { resourceType, query, handling } = input as {
      resourceType: string;
      query: [string, string][];
      handling: 'strict' | 'lenient';
    };
    return planSearch(resourceType, new URLSearchParams(query), keyedHash, {
      handling,
      now: 1_700_000_000_000,
    });
  },
  parseCheckpoint: (input) => parseCheckpoint(input as string),
  parseSignedNote: (input) => parseSignedNote(input as string),
  verifyNote: (input) => verifyNote(input as string, [verifier]),
  parseTlogProof: (input) => parseTlogProof(input as string),
  parseVerifierKey: (input) => parseVerifierKey(input as string),
  rewriteBundleReferences: (input) => rewriteBundleReferences(input as { entry?: unknown[] }),
  parseScopes: (input) => parseScopes(input as string),
  parseShare: (input) => parseShare(input as string),
};

describe(`parsers under fuzzing (seed ${FUZZ_SEED})`, () => {
  let grantBody: unknown;

  beforeAll(async () => {
    console.info(`fuzz seed ${FUZZ_SEED} (override with CARELEDGER_FUZZ_SEED)`);
    const signed = await signGrantForNewPatient({
      chainId: 31337,
      consentRegistry: domain.verifyingContract,
      grantee: '0x1111111111111111111111111111111111111111',
      nowSeconds: 1_700_000_000,
    });
    grantBody = JSON.parse(signed.body);
  });

  for (const entry of loadCorpus<ParserCase>('parsers.json')) {
    it(`replays corpus: ${entry.parser} ${entry.note ?? ''}`, async () => {
      if (entry.parser === 'parseSignedGrant') {
        await returnsOrRejectsTyped(() => parseSignedGrant(entry.input, domain));
        return;
      }
      const parser = parsers[entry.parser];
      expect(parser, `unknown parser ${entry.parser} in corpus`).toBeDefined();
      if (entry.refused === true) {
        expect(() => parser?.(entry.input)).toThrow(CareLedgerError);
        return;
      }
      returnsOrThrowsTyped(() => parser?.(entry.input));
    });
  }

  it('the seeds themselves parse', async () => {
    for (const seed of FHIR_SEEDS) expect(() => parseResource(seed)).not.toThrow();
    expect(parseTlogProof(tlogProofText).index).toBe(1);
    expect(() => verifyNote(signedCheckpoint, [verifier])).not.toThrow();
    expect(parseCheckpoint(checkpointText).size).toBe(3);
    expect(parseShare(shareText).id).toBe('fuzz-split');
    await expect(parseSignedGrant(grantBody, domain)).resolves.toBeDefined();
  });

  it('parseResource: random JSON and mutated FHIR resources', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), mutatedJson(FHIR_SEEDS, 6)), (input) => {
        returnsOrThrowsTyped(() => parseResource(input));
      }),
      fuzzOptions(1200),
    );
  });

  it('parseStrictJson: random, mutated and truncated JSON text', () => {
    const text = fc.oneof(
      fc.jsonValue().map((value) => JSON.stringify(value)),
      mutatedJson(FHIR_SEEDS, 6).map((value) => JSON.stringify(value)),
      fc.tuple(fc.constantFrom(...FHIR_SEEDS), fc.nat()).map(([seed, at]) => {
        const whole = JSON.stringify(seed);
        return whole.slice(0, at % whole.length);
      }),
      mutatedText(
        FHIR_SEEDS.map((seed) => JSON.stringify(seed)),
        4,
      ),
    );
    fc.assert(
      fc.property(text, (input) => {
        returnsOrThrowsTyped(() => parseStrictJson(input));
      }),
      fuzzOptions(1200),
    );
  });

  it('a prototype name or a repeated key anywhere in a FHIR resource is always refused', () => {
    const names = ['toString', 'valueOf', 'constructor', '__proto__', 'hasOwnProperty', 'isPrototypeOf'];
    /** Every object in the JSON tree, so the injection can land at any depth. */
    const objectsOf = (value: unknown, into: Record<string, unknown>[] = []) => {
      if (Array.isArray(value)) for (const item of value) objectsOf(item, into);
      else if (typeof value === 'object' && value !== null) {
        into.push(value as Record<string, unknown>);
        for (const item of Object.values(value)) objectsOf(item, into);
      }
      return into;
    };
    fc.assert(
      fc.property(
        fc.constantFrom(...FHIR_SEEDS),
        fc.nat(),
        fc.constantFrom(...names),
        fc.boolean(),
        (seed, pick, name, duplicate) => {
          const resource = structuredClone(seed);
          const objects = objectsOf(resource);
          const target = objects[pick % objects.length] as Record<string, unknown>;
          const key = Object.keys(target)[0] as string;
          const marker = '"__careledger_marker__":0';
          // A key the target already has, written twice; or a prototype name added to it.
          target.__careledger_marker__ = 0;
          const inserted = duplicate
            ? `${JSON.stringify(key)}:${JSON.stringify(target[key])}`
            : `"${name}":{"x":1}`;
          const text = JSON.stringify(resource).replace(marker, inserted);
          expect(() => parseResource(parseStrictJson(text))).toThrow(CareLedgerError);
        },
      ),
      fuzzOptions(600),
    );
  });

  it('planSearch: FHIR search syntax, random keys and values, strict and lenient', () => {
    fc.assert(
      fc.property(
        searchResourceType,
        fc.array(fc.tuple(searchKey, searchValue), { maxLength: 6 }),
        fc.constantFrom('strict', 'lenient'),
        (resourceType, query, handling) => {
          returnsOrThrowsTyped(() => parsers.planSearch?.({ resourceType, query, handling }));
        },
      ),
      fuzzOptions(1800),
    );
  });

  it('signed notes, checkpoints and tlog-proofs: random and mutated text', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      mutatedText([signedCheckpoint, checkpointText, tlogProofText], 4),
    );
    fc.assert(
      fc.property(text, (input) => {
        returnsOrThrowsTyped(() => parseCheckpoint(input));
        returnsOrThrowsTyped(() => parseSignedNote(input));
        returnsOrThrowsTyped(() => parseSignedNote(new TextEncoder().encode(input)));
        returnsOrThrowsTyped(() => verifyNote(input, [verifier]));
        returnsOrThrowsTyped(() => parseTlogProof(input));
      }),
      fuzzOptions(1800),
    );
  });

  it('signed notes as raw bytes (invalid UTF-8 included)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        returnsOrThrowsTyped(() => parseSignedNote(bytes));
        returnsOrThrowsTyped(() => verifyNote(bytes, [verifier]));
      }),
      fuzzOptions(900),
    );
  });

  it('parseVerifierKey: random and mutated keys', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), mutatedText([verifierKey], 3)), (input) => {
        returnsOrThrowsTyped(() => parseVerifierKey(input));
      }),
      fuzzOptions(900),
    );
  });

  it('parseSignedGrant: random JSON and mutated EIP-712 relay bodies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), mutatedJson([grantBody], 4)), async (input) => {
        await returnsOrRejectsTyped(() => parseSignedGrant(input, domain));
      }),
      fuzzOptions(900),
    );
  });

  it('rewriteBundleReferences: mutated transaction Bundles and random entries', () => {
    const bundle = fc.oneof(
      fc.record({ entry: fc.array(fc.jsonValue({ maxDepth: 4 }), { maxLength: 5 }) }),
      mutatedJson([BUNDLE_SEED], 6).filter(
        (b) =>
          b !== null &&
          typeof b === 'object' &&
          !Array.isArray(b) &&
          Array.isArray((b as { entry?: unknown }).entry),
      ),
    );
    fc.assert(
      fc.property(bundle, (input) => {
        returnsOrThrowsTyped(() => rewriteBundleReferences(input as { entry?: unknown[] }));
      }),
      fuzzOptions(1200),
    );
  });

  it('parseScopes: SMART v1/v2 scope syntax and random text', () => {
    const token = fc.oneof(
      fc.constantFrom(
        'patient/*.read',
        'user/Observation.rs',
        'system/*.cruds',
        'patient/Observation.rs?category=laboratory',
        'patient/Observation.rs?',
        'patient/.rs',
        'user/*.*',
        'openid',
        'fhirUser',
        'launch/patient',
        'offline_access',
        'patient/Observation.srcud',
        'patient/Observation.rs?code=http://loinc.org|2339-0&&=',
      ),
      fc.string({ maxLength: 30 }),
    );
    fc.assert(
      fc.property(
        fc.array(token, { maxLength: 6 }),
        fc.constantFrom(' ', '  ', '\t', '\n'),
        (tokens, sep) => {
          returnsOrThrowsTyped(() => parseScopes(tokens.join(sep)));
        },
      ),
      fuzzOptions(1200),
    );
  });

  it('parseShare: random and mutated guardian shares', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 120 }), mutatedText([shareText], 3)), (input) => {
        returnsOrThrowsTyped(() => parseShare(input));
      }),
      fuzzOptions(1200),
    );
  });
});
