import { CompactSign, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createStatusBitstring, setStatusBit } from './bitstring-status-list.js';
import {
  buildLicenseCredential,
  type PractitionerLicenseCredential,
  parseCredential,
  practitionerDid,
  V2_0360_SYSTEM,
} from './practitioner-credential.js';
import {
  CREDENTIAL_REFUSAL_REASONS,
  decodeCredentialJwt,
  type IssuerKey,
  issueCredential,
  type StatusListSnapshot,
  type VerifyCredentialOptions,
  verifyCredential,
} from './vc-jwt.js';

const BOARD = 'https://board.example.gov/ma';
const OTHER_BOARD = 'https://board.example.gov/ny';
const KID = `${BOARD}#key-1`;
const REVOCATIONS = 'https://board.example.gov/ma/status/revocation';
const SUSPENSIONS = 'https://board.example.gov/ma/status/suspension';
const ALICE = practitionerDid(31337, '0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
const BOB = practitionerDid(31337, '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC');
const NOW = new Date('2026-12-07T12:00:00Z');

let boardPrivate: JWK;
let boardPublic: IssuerKey;
let strangerPrivate: JWK;

function licence(
  overrides: Partial<Parameters<typeof buildLicenseCredential>[0]> = {},
): PractitionerLicenseCredential {
  return buildLicenseCredential({
    id: 'urn:uuid:3f1c2b0e-5d7a-4c1e-9a55-0c2f7b7e1d01',
    issuer: BOARD,
    validFrom: new Date('2026-01-01T00:00:00Z'),
    validUntil: new Date('2028-01-01T00:00:00Z'),
    subject: {
      id: ALICE,
      licenseNumber: 'MD-123456',
      jurisdiction: 'US-MA',
      qualification: { system: V2_0360_SYSTEM, code: 'MD', display: 'Doctor of Medicine' },
    },
    status: { index: 94_567, revocationList: REVOCATIONS, suspensionList: SUSPENSIONS },
    ...overrides,
  });
}

function lists(revoked: number[] = [], suspended: number[] = []): Map<string, StatusListSnapshot> {
  const revocation = createStatusBitstring();
  for (const i of revoked) setStatusBit(revocation, i);
  const suspension = createStatusBitstring();
  for (const i of suspended) setStatusBit(suspension, i);
  return new Map([
    [REVOCATIONS, { statusPurpose: 'revocation', bitstring: revocation }],
    [SUSPENSIONS, { statusPurpose: 'suspension', bitstring: suspension }],
  ]);
}

function options(overrides: Partial<VerifyCredentialOptions> = {}): VerifyCredentialOptions {
  return { issuerKeys: new Map([[BOARD, [boardPublic]]]), now: NOW, statusLists: lists(), ...overrides };
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    const e = error as { code: string; details: { reason: string } };
    return `${e.code}:${e.details.reason}`;
  }
  return 'accepted';
}

beforeAll(async () => {
  const board = await generateKeyPair('ES256', { extractable: true });
  boardPrivate = await exportJWK(board.privateKey);
  boardPublic = { ...(await exportJWK(board.publicKey)), kid: KID };
  const stranger = await generateKeyPair('ES256', { extractable: true });
  strangerPrivate = await exportJWK(stranger.privateKey);
});

describe('practitioner licence credentials (vc+jwt)', () => {
  it('issues a VC 2.0 licence secured as vc+jwt and verifies it', async () => {
    const jwt = await issueCredential(licence(), { privateKey: boardPrivate, kid: KID });
    const { header, credential } = decodeCredentialJwt(jwt);
    expect(header).toEqual({ alg: 'ES256', typ: 'vc+jwt', cty: 'vc', kid: KID });
    // The credential itself is the payload: no `vc` wrapper, no JWT registered claims.
    expect(Object.keys(JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString()))).toEqual(
      [
        '@context',
        'id',
        'type',
        'issuer',
        'validFrom',
        'validUntil',
        'credentialSubject',
        'credentialStatus',
      ],
    );
    expect(credential['@context'][0]).toBe('https://www.w3.org/ns/credentials/v2');
    expect(credential.type).toEqual(['VerifiableCredential', 'PractitionerLicenseCredential']);
    expect(credential.credentialStatus.map((s) => [s.statusPurpose, s.statusListIndex])).toEqual([
      ['revocation', '94567'],
      ['suspension', '94567'],
    ]);
    const verified = await verifyCredential(
      jwt,
      options({ expectedSubject: ALICE.toUpperCase().replace('DID:PKH:EIP155', 'did:pkh:eip155') }),
    );
    expect(verified.credentialSubject).toEqual({
      id: 'did:pkh:eip155:31337:0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
      licenseNumber: 'MD-123456',
      jurisdiction: 'US-MA',
      qualification: { system: V2_0360_SYSTEM, code: 'MD', display: 'Doctor of Medicine' },
    });
  });

  it('refuses with every reason of the closed list', async () => {
    const jwt = await issueCredential(licence(), { privateKey: boardPrivate, kid: KID });
    const seen = new Set<string>();
    const expectRefusal = async (p: Promise<unknown>, expected: string) => {
      expect(await refusal(p)).toBe(expected);
      seen.add(expected.split(':')[1] as string);
    };
    // bad-signature: signed by a key that is not the board's, under the board's kid; and a flipped signature.
    const forged = await issueCredential(licence(), { privateKey: strangerPrivate, kid: KID });
    await expectRefusal(verifyCredential(forged, options()), 'ERR_SIGNATURE_INVALID:bad-signature');
    const [h, p, s] = jwt.split('.') as [string, string, string];
    const flipped = `${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`;
    await expectRefusal(verifyCredential(flipped, options()), 'ERR_SIGNATURE_INVALID:bad-signature');
    // A payload altered after signing (another licence number) no longer verifies.
    const altered = {
      ...licence(),
      credentialSubject: { ...licence().credentialSubject, licenseNumber: 'MD-999999' },
    };
    const tampered = `${h}.${Buffer.from(JSON.stringify(altered)).toString('base64url')}.${s}`;
    await expectRefusal(verifyCredential(tampered, options()), 'ERR_SIGNATURE_INVALID:bad-signature');
    await expectRefusal(
      verifyCredential(
        await issueCredential(licence(), { privateKey: boardPrivate, kid: `${BOARD}#key-9` }),
        options(),
      ),
      'ERR_SIGNATURE_INVALID:bad-signature',
    );
    // issuer-not-admitted: a board the consortium did not admit, even with a valid self-signature.
    const selfIssued = await issueCredential(licence({ issuer: OTHER_BOARD }), {
      privateKey: strangerPrivate,
      kid: KID,
    });
    await expectRefusal(verifyCredential(selfIssued, options()), 'ERR_FORBIDDEN:issuer-not-admitted');
    // validity window, at the injected time.
    await expectRefusal(
      verifyCredential(jwt, options({ now: new Date('2025-12-31T23:59:59Z') })),
      'ERR_FORBIDDEN:not-yet-valid',
    );
    await expectRefusal(
      verifyCredential(jwt, options({ now: new Date('2028-01-01T00:00:00Z') })),
      'ERR_FORBIDDEN:expired',
    );
    expect(await refusal(verifyCredential(jwt, options({ now: new Date('2027-12-31T23:59:59Z') })))).toBe(
      'accepted',
    );
    // wrong-subject: Bob presents Alice's licence.
    await expectRefusal(
      verifyCredential(jwt, options({ expectedSubject: BOB })),
      'ERR_FORBIDDEN:wrong-subject',
    );
    // revoked / suspended, by the bit at the credential's own index only.
    expect(await refusal(verifyCredential(jwt, options({ statusLists: lists([94_566, 94_568], [0]) })))).toBe(
      'accepted',
    );
    await expectRefusal(
      verifyCredential(jwt, options({ statusLists: lists([94_567]) })),
      'ERR_FORBIDDEN:revoked',
    );
    await expectRefusal(
      verifyCredential(jwt, options({ statusLists: lists([], [94_567]) })),
      'ERR_FORBIDDEN:suspended',
    );
    await expectRefusal(
      verifyCredential(jwt, options({ statusLists: lists([94_567], [94_567]) })),
      'ERR_FORBIDDEN:revoked',
    );
    // status-unavailable: the verifier fails closed when it lacks a named list.
    await expectRefusal(
      verifyCredential(jwt, options({ statusLists: new Map([...lists()].slice(0, 1)) })),
      'ERR_PRECONDITION_FAILED:status-unavailable',
    );
    // malformed: not a JWS, wrong typ, a payload that is not a licence credential.
    await expectRefusal(verifyCredential('not.a.jws.at-all', options()), 'ERR_INVALID_INPUT:malformed');
    const key = await importJWK(boardPrivate, 'ES256');
    const sign = (payload: unknown, header: Record<string, string>) =>
      new CompactSign(Buffer.from(JSON.stringify(payload)))
        .setProtectedHeader({ alg: 'ES256', kid: KID, ...header })
        .sign(key);
    await expectRefusal(
      verifyCredential(await sign(licence(), { typ: 'JWT' }), options()),
      'ERR_INVALID_INPUT:malformed',
    );
    const { credentialStatus: _dropped, ...noStatus } = licence();
    await expectRefusal(
      verifyCredential(await sign(noStatus, { typ: 'vc+jwt', cty: 'vc' }), options()),
      'ERR_INVALID_INPUT:malformed',
    );
    // A status list of the wrong purpose under the credential's URL is malformed, not a pass.
    const swapped = new Map([
      [REVOCATIONS, lists().get(SUSPENSIONS) as StatusListSnapshot],
      [SUSPENSIONS, lists().get(SUSPENSIONS) as StatusListSnapshot],
    ]);
    await expectRefusal(
      verifyCredential(jwt, options({ statusLists: swapped })),
      'ERR_INVALID_INPUT:malformed',
    );
    // An index past the end of a (shorter than usual) list, and an issuer listed with no keys.
    const short = new Map(
      [...lists()].map(
        ([url, list]) => [url, { ...list, bitstring: list.bitstring.subarray(0, 4096) }] as const,
      ),
    );
    await expectRefusal(
      verifyCredential(jwt, options({ statusLists: short })),
      'ERR_INVALID_INPUT:malformed',
    );
    await expectRefusal(
      verifyCredential(jwt, options({ issuerKeys: new Map([[BOARD, []]]) })),
      'ERR_FORBIDDEN:issuer-not-admitted',
    );
    expect([...seen].sort()).toEqual([...CREDENTIAL_REFUSAL_REASONS].sort());
  });
});

describe('parseCredential', () => {
  const reasonOf = (value: unknown) => {
    try {
      parseCredential(value);
      return 'accepted';
    } catch (error) {
      return (error as { details: { why: string } }).details.why;
    }
  };
  const good = () => JSON.parse(JSON.stringify(licence())) as Record<string, unknown>;

  it('accepts the built credential and an issuer given as an object', () => {
    expect(reasonOf(good())).toBe('accepted');
    expect(parseCredential({ ...good(), issuer: { id: BOARD, name: 'Board' } }).issuer).toBe(BOARD);
  });

  it('says why a shape is refused', () => {
    const subject = good().credentialSubject as Record<string, unknown>;
    const cases: [unknown, RegExp][] = [
      [[], /not a JSON object/],
      [{ ...good(), '@context': ['https://www.w3.org/2018/credentials/v1'] }, /@context/],
      [{ ...good(), type: ['VerifiableCredential'] }, /type must include/],
      [{ ...good(), issuer: 'board' }, /issuer/],
      [{ ...good(), validFrom: '2026-01-01' }, /validFrom/],
      [{ ...good(), validUntil: '2025-01-01T00:00:00Z' }, /after validFrom/],
      [{ ...good(), credentialSubject: [subject] }, /one object/],
      [{ ...good(), credentialSubject: { ...subject, id: 'did:web:alice.example' } }, /did:pkh/],
      [{ ...good(), credentialSubject: { ...subject, licenseNumber: '' } }, /licenseNumber/],
      [{ ...good(), credentialSubject: { ...subject, jurisdiction: undefined } }, /jurisdiction/],
      [{ ...good(), credentialSubject: { ...subject, qualification: { code: 'MD' } } }, /qualification/],
      [
        { ...good(), credentialStatus: [(good().credentialStatus as unknown[])[0]] },
        /exactly one revocation/,
      ],
      [
        {
          ...good(),
          credentialStatus: (good().credentialStatus as Record<string, unknown>[]).map((s) => ({
            ...s,
            statusListIndex: 5,
          })),
        },
        /decimal string/,
      ],
      [
        {
          ...good(),
          credentialStatus: (good().credentialStatus as Record<string, unknown>[]).map((s) => ({
            ...s,
            type: 'StatusList2021Entry',
          })),
        },
        /BitstringStatusListEntry/,
      ],
    ];
    for (const [value, why] of cases) expect(reasonOf(value)).toMatch(why);
  });
});
