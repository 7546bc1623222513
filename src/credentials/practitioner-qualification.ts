/**
 * The licence shown where FHIR expects it (issue 21 item 4, decision 0028): a Practitioner read here
 * carries `Practitioner.qualification` from the chain (identifier = licence number, code = the
 * credential's v2-0360 or NUCC coding, period = validity, issuer = the board), with the licence's
 * standing now as an extension. The practitioner is found by their ledger account: a ledger-address
 * identifier on the resource, or the user account behind `Practitioner/<id>` here.
 */
import type { Practitioner, PractitionerQualification, Resource } from '@medplum/fhirtypes';
import { type Address, getAddress, isAddress } from 'viem';
import type { CredentialChainIndex } from './credential-ledger.js';
import { evaluatePractitionerStanding, type StandingSources } from './practitioner-standing.js';

export const CREDENTIAL_STATUS_EXTENSION =
  'https://careledger.dev/fhir/StructureDefinition/credential-status';
const LEDGER_ADDRESS_SYSTEM = 'https://careledger.dev/fhir/sid/ledger-address';
/** Licence numbers are unique within a jurisdiction: one identifier system per ISO 3166-2 code. */
export const LICENCE_SYSTEM_PREFIX = 'https://careledger.dev/fhir/sid/licence/';

export interface QualificationViewDeps {
  readonly index: () => Promise<CredentialChainIndex>;
  readonly attestation: StandingSources['attestation'];
  readonly accountOf: (practitionerId: string) => Promise<Address | undefined>;
  readonly boardName: (board: Address) => Promise<string | undefined>;
  readonly now?: () => Date;
}

function accountOnResource(practitioner: Practitioner): Address | undefined {
  const value = practitioner.identifier?.find((i) => i.system === LEDGER_ADDRESS_SYSTEM)?.value;
  return value !== undefined && isAddress(value, { strict: false }) ? getAddress(value) : undefined;
}

/** Adds the chain's licence to a Practitioner; any other resource, or one without a licence, is unchanged. */
export function createPractitionerQualificationView(
  deps: QualificationViewDeps,
): (resource: Resource) => Promise<Resource> {
  return async (resource) => {
    if (resource.resourceType !== 'Practitioner') return resource;
    const account =
      accountOnResource(resource) ??
      (resource.id === undefined ? undefined : await deps.accountOf(resource.id));
    if (account === undefined) return resource;
    const index = await deps.index();
    const standing = await evaluatePractitionerStanding(
      account,
      { index, attestation: deps.attestation },
      deps.now?.() ?? new Date(),
    ).catch(() => undefined);
    const record = standing?.record;
    if (standing === undefined || record === undefined) return resource;
    const qualification: PractitionerQualification = {
      extension: [
        { url: CREDENTIAL_STATUS_EXTENSION, valueCode: standing.valid ? 'valid' : standing.reason },
      ],
      identifier: [{ system: `${LICENCE_SYSTEM_PREFIX}${record.jurisdiction}`, value: record.licenseNumber }],
      code: { coding: [{ system: record.qualification.system, code: record.qualification.code }] },
      period: {
        start: new Date(record.validFrom * 1000).toISOString(),
        end: new Date(record.validUntil * 1000).toISOString(),
      },
      issuer: {
        identifier: { system: LEDGER_ADDRESS_SYSTEM, value: record.board },
        display: (await deps.boardName(record.board)) ?? 'licensing board',
      },
    };
    const kept = (resource.qualification ?? []).filter(
      (q) => !q.extension?.some((e) => e.url === CREDENTIAL_STATUS_EXTENSION),
    );
    return { ...resource, qualification: [...kept, qualification] };
  };
}
