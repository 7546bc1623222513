import type { Bundle, Patient, Signature } from '@medplum/fhirtypes';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hexToBytes } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { CareLedgerError } from '../../errors/index.js';
import { canonicalJson } from '../canonical-json.js';
import { validateResource } from '../validate-resource.js';
import { createIpsDocument } from './create-ips-document.js';
import {
  type DocumentSignatureFailureReason,
  type DocumentSigner,
  signDocument,
  verifyDocumentSignature,
} from './sign-document.js';

const memberKey = generatePrivateKey();
const member = privateKeyToAccount(memberKey);
const other = privateKeyToAccount(generatePrivateKey());
const NOW = new Date('2024-05-06T07:08:09.000Z');

const patient: Patient = {
  resourceType: 'Patient',
  id: 'p1',
  name: [{ family: 'Doe', given: ['Jane'] }],
  birthDate: '1980-04-01',
};

function documentBy(address: string): Bundle {
  let n = 0;
  return createIpsDocument({
    patient,
    resources: [
      patient,
      {
        resourceType: 'Condition',
        id: 'c1',
        clinicalStatus: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
        },
        code: { coding: [{ system: 'http://snomed.info/sct', code: '15777000', display: 'Prediabetes' }] },
        subject: { reference: 'Patient/p1' },
      },
    ],
    author: { name: 'Solo Clinic', address },
    now: () => NOW,
    uuid: () => `00000000-0000-4000-8000-${(n++).toString(16).padStart(12, '0')}`,
  });
}

async function signed(): Promise<Bundle> {
  return signDocument(documentBy(member.address), member, { now: () => NOW });
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

function jwsOf(bundle: Bundle): string {
  return Buffer.from(bundle.signature?.data ?? '', 'base64').toString('ascii');
}

function withSignature(bundle: Bundle, patch: Partial<Signature>): Bundle {
  if (bundle.signature === undefined) throw new Error('the bundle is not signed');
  return { ...bundle, signature: { ...bundle.signature, ...patch } };
}

function withJws(bundle: Bundle, jws: string): Bundle {
  return withSignature(bundle, { data: Buffer.from(jws).toString('base64') });
}

async function reasonOf(promise: Promise<unknown>): Promise<DocumentSignatureFailureReason | string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(CareLedgerError);
    expect((error as CareLedgerError).code).toBe('ERR_SIGNATURE_INVALID');
    return (error as CareLedgerError).details.reason as string;
  }
  throw new Error('expected the verification to fail');
}

describe('signDocument / verifyDocumentSignature', () => {
  it('sign an Author Signature by the member, which verifies', async () => {
    const bundle = await signed();
    const organization = bundle.entry?.find((e) => e.resource?.resourceType === 'Organization');
    expect(bundle.signature).toEqual({
      type: [
        {
          system: 'urn:iso-astm:E1762-95:2013',
          code: '1.2.840.10065.1.12.1.1',
          display: "Author's Signature",
        },
      ],
      when: '2024-05-06T07:08:09.000Z',
      who: {
        reference: organization?.fullUrl,
        identifier: { system: 'https://careledger.dev/fhir/sid/ledger-address', value: member.address },
      },
      targetFormat: 'application/fhir+json',
      sigFormat: 'application/jose',
      data: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/),
    });
    await expect(verifyDocumentSignature(bundle)).resolves.toEqual({
      signer: member.address,
      when: '2024-05-06T07:08:09.000Z',
    });
    expect(validateResource(bundle).valid).toBe(true);
  });

  it('is a standard detached ES256K JWS (RFC 7515 App. F, RFC 8812 §3.2) over the canonical Bundle', async () => {
    const bundle = await signed();
    const [header, payload, signature] = jwsOf(bundle).split('.') as [string, string, string];
    expect(payload).toBe('');
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({
      alg: 'ES256K',
      kid: member.address,
    });
    const { signature: _, ...unsigned } = bundle;
    const input = `${header}.${base64url(canonicalJson(unsigned))}`;
    const publicKey = secp256k1.getPublicKey(hexToBytes(memberKey), false);
    // Checked with noble directly, not with the module's own verifier.
    expect(
      secp256k1.verify(
        Buffer.from(signature, 'base64url'),
        sha256(new TextEncoder().encode(input)),
        publicKey,
        {
          prehash: false,
        },
      ),
    ).toBe(true);
  });

  it('accept a JSON round trip and a reordering of keys', async () => {
    const bundle = JSON.parse(JSON.stringify(await signed())) as Bundle;
    const reordered = Object.fromEntries(Object.entries(bundle).reverse()) as unknown as Bundle;
    await expect(verifyDocumentSignature(reordered)).resolves.toMatchObject({ signer: member.address });
  });

  it('refuse a tampered document', async () => {
    const bundle = await signed();
    const tampered = JSON.parse(JSON.stringify(bundle)) as Bundle;
    const subject = tampered.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource as Patient;
    subject.birthDate = '1980-04-02';
    expect(await reasonOf(verifyDocumentSignature(tampered))).toBe('bad-signature');
    const dropped = { ...bundle, entry: bundle.entry?.slice(0, -1) };
    expect(await reasonOf(verifyDocumentSignature(dropped))).toBe('bad-signature');
  });

  it('refuse another signer than expected, or a key that is not the Organization’s', async () => {
    const bundle = await signed();
    expect(await reasonOf(verifyDocumentSignature(bundle, { expectedSigner: other.address }))).toBe(
      'signer-mismatch',
    );
    await expect(
      verifyDocumentSignature(bundle, { expectedSigner: member.address.toLowerCase() }),
    ).resolves.toMatchObject({ signer: member.address });

    // Another member's key claiming to be this member: the kid no longer matches the Organization...
    const [, , signature] = jwsOf(bundle).split('.');
    const forgedHeader = base64url(JSON.stringify({ alg: 'ES256K', kid: other.address }));
    expect(await reasonOf(verifyDocumentSignature(withJws(bundle, `${forgedHeader}..${signature}`)))).toBe(
      'signer-mismatch',
    );
    // ...and a document signed by another member, relabelled as this one, fails the signature.
    const byOther = await signDocument(documentBy(other.address), other, { now: () => NOW });
    const relabelled = JSON.parse(
      JSON.stringify(byOther).replaceAll(other.address, member.address),
    ) as Bundle;
    const [, , otherSignature] = jwsOf(byOther).split('.');
    const header = base64url(JSON.stringify({ alg: 'ES256K', kid: member.address }));
    expect(await reasonOf(verifyDocumentSignature(withJws(relabelled, `${header}..${otherSignature}`)))).toBe(
      'bad-signature',
    );
  });

  it('refuse a signer that is not an active member', async () => {
    const bundle = await signed();
    const asked: string[] = [];
    const isMember = async (address: string) => {
      asked.push(address);
      return address === other.address;
    };
    expect(await reasonOf(verifyDocumentSignature(bundle, { isMember }))).toBe('not-member');
    expect(asked).toEqual([member.address]);
    await expect(
      verifyDocumentSignature(bundle, { isMember: (a) => a === member.address }),
    ).resolves.toMatchObject({ signer: member.address });
  });

  it('refuse missing, malformed and unsupported signatures', async () => {
    const bundle = await signed();
    const jws = jwsOf(bundle);
    const [header, , signature] = jws.split('.') as [string, string, string];
    const { signature: _, ...unsigned } = bundle;
    expect(await reasonOf(verifyDocumentSignature(unsigned))).toBe('missing');
    const unsupported = withSignature(bundle, { sigFormat: 'application/pkcs7-signature' });
    expect(await reasonOf(verifyDocumentSignature(unsupported))).toBe('unsupported-format');
    const notAuthor = withSignature(bundle, {
      type: [{ system: 'urn:iso-astm:E1762-95:2013', code: '1.2.840.10065.1.12.1.7' }],
    });
    expect(await reasonOf(verifyDocumentSignature(notAuthor))).toBe('unsupported-format');
    expect(await reasonOf(verifyDocumentSignature(withSignature(bundle, { data: '%%%' })))).toBe('malformed');
    const payload = base64url(canonicalJson(unsigned));
    expect(
      await reasonOf(verifyDocumentSignature(withJws(bundle, `${header}.${payload}.${signature}`))),
    ).toBe('malformed');
    expect(
      await reasonOf(verifyDocumentSignature(withJws(bundle, `${header}..${signature.slice(0, 20)}`))),
    ).toBe('malformed');
    const es256 = base64url(JSON.stringify({ alg: 'ES256', kid: member.address }));
    expect(await reasonOf(verifyDocumentSignature(withJws(bundle, `${es256}..${signature}`)))).toBe(
      'unsupported-algorithm',
    );
    const crit = base64url(JSON.stringify({ alg: 'ES256K', kid: member.address, b64: false, crit: ['b64'] }));
    expect(await reasonOf(verifyDocumentSignature(withJws(bundle, `${crit}..${signature}`)))).toBe(
      'malformed',
    );
    // The high-S twin of a valid signature is a second encoding: refused (RFC 8812 §3.2 signers use low S).
    const parsed = secp256k1.Signature.fromBytes(Buffer.from(signature, 'base64url'), 'compact');
    const highS = new secp256k1.Signature(parsed.r, secp256k1.Point.CURVE().n - parsed.s).toBytes('compact');
    expect(
      await reasonOf(
        verifyDocumentSignature(withJws(bundle, `${header}..${Buffer.from(highS).toString('base64url')}`)),
      ),
    ).toBe('bad-signature');
  });

  it('need the signer’s Organization in the document, and a signer whose key is its address', async () => {
    await expect(signDocument(documentBy(other.address), member)).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
      details: { reason: 'no-signer-organization' },
    });
    const impostor: DocumentSigner = { address: member.address, sign: (p) => other.sign(p) };
    await expect(signDocument(documentBy(member.address), impostor)).rejects.toMatchObject({
      code: 'ERR_CONFIG',
    });
  });

  it('name no document content in failure messages', async () => {
    const bundle = await signed();
    const tampered = JSON.parse(JSON.stringify(bundle).replace('Prediabetes', 'Diabetes')) as Bundle;
    const error = await verifyDocumentSignature(tampered).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CareLedgerError);
    expect((error as Error).message).not.toMatch(/Doe|Jane|Diabetes|1980/);
  });
});
