import type {
  Claim,
  ClaimResponse,
  ExplanationOfBenefit,
  ExplanationOfBenefitItem,
  ExplanationOfBenefitItemAdjudication,
  Money,
} from '@medplum/fhirtypes';
import { CLAIM_COMMITMENT_SYSTEM } from './code-systems.js';
import { centsToDecimal, parseCents } from './money.js';

/** CARIN Blue Button (hl7.fhir.us.carin-bb 2.0.0) vocabularies. */
const C4BB_ADJUDICATION = 'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication';
const C4BB_IDENTIFIER_TYPE = 'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBIdentifierType';
const C4BB_PAYER_ADJUDICATION_STATUS =
  'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBPayerAdjudicationStatus';
const C4BB_SUPPORTING_INFO = 'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBSupportingInfoType';

/** The patient's share of a line: copay, deductible and coinsurance. */
const PATIENT_SHARE = new Set(['copay', 'deductible', 'coinsurance']);

function amountCents(amount: Money | undefined): number {
  return amount?.value === undefined ? 0 : parseCents(amount.value, 'amount');
}

function memberLiability(
  adjudication: readonly { category: { coding?: { code?: string }[] }; amount?: Money }[],
): number {
  return adjudication
    .filter((a) => PATIENT_SHARE.has(a.category.coding?.[0]?.code ?? ''))
    .reduce((sum, a) => sum + amountCents(a.amount), 0);
}

function liabilityAdjudication(cents: number, currency: string): ExplanationOfBenefitItemAdjudication {
  return {
    category: {
      coding: [{ system: C4BB_ADJUDICATION, code: 'memberliability', display: 'Member liability' }],
    },
    amount: { value: centsToDecimal(cents), currency: currency as Money['currency'] },
  };
}

export interface EobReferences {
  readonly claimId: string;
  readonly claimResponseId: string;
  readonly coverageId?: string;
}

/**
 * The patient's ExplanationOfBenefit for an adjudicated claim, in the shape of CARIN Blue Button
 * (C4BB-ExplanationOfBenefit): the claim's lines with the payer's adjudication per line, the member
 * liability (copay + deductible + coinsurance) per line and in total (what the patient owes), the
 * payment to the provider, and the claim's commitment as its unique claim identifier. It is derived
 * from the Claim and ClaimResponse only, so it says nothing the patient could not re-compute.
 */
export function createExplanationOfBenefit(
  claim: Claim,
  response: ClaimResponse,
  refs: EobReferences,
): ExplanationOfBenefit {
  const currency = response.payment?.amount?.currency ?? response.total?.[0]?.amount.currency ?? 'USD';
  const items: ExplanationOfBenefitItem[] = (claim.item ?? []).map((item) => {
    const adjudicated = (response.item ?? []).find((i) => i.itemSequence === item.sequence);
    const adjudication = (adjudicated?.adjudication ?? []) as ExplanationOfBenefitItemAdjudication[];
    return {
      sequence: item.sequence,
      ...(item.diagnosisSequence === undefined ? {} : { diagnosisSequence: item.diagnosisSequence }),
      productOrService: item.productOrService,
      ...(item.servicedDate === undefined ? {} : { servicedDate: item.servicedDate }),
      ...(item.servicedPeriod === undefined ? {} : { servicedPeriod: item.servicedPeriod }),
      ...(item.quantity === undefined ? {} : { quantity: item.quantity }),
      ...(item.net === undefined ? {} : { net: item.net }),
      adjudication: [...adjudication, liabilityAdjudication(memberLiability(adjudication), currency)],
    };
  });
  const owed = items.reduce((sum, item) => sum + memberLiability(item.adjudication ?? []), 0);
  const commitment = response.request?.identifier?.value ?? '';
  return {
    resourceType: 'ExplanationOfBenefit',
    identifier: [
      {
        type: { coding: [{ system: C4BB_IDENTIFIER_TYPE, code: 'uc', display: 'Unique Claim ID' }] },
        system: CLAIM_COMMITMENT_SYSTEM,
        value: commitment,
      },
    ],
    status: 'active',
    type: claim.type,
    use: 'claim',
    patient: { reference: response.patient?.reference ?? '' },
    ...(claim.billablePeriod === undefined ? {} : { billablePeriod: claim.billablePeriod }),
    created: response.created ?? claim.created,
    insurer: response.insurer ?? { display: 'payer' },
    provider: claim.provider,
    outcome: response.outcome ?? 'complete',
    ...(response.disposition === undefined ? {} : { disposition: response.disposition }),
    claim: { reference: `Claim/${refs.claimId}` },
    claimResponse: { reference: `ClaimResponse/${refs.claimResponseId}` },
    supportingInfo: [
      {
        sequence: 1,
        category: { coding: [{ system: C4BB_SUPPORTING_INFO, code: 'clmrecvddate' }] },
        timingDate: (response.created ?? claim.created).slice(0, 10),
      },
    ],
    insurance: [
      {
        focal: true,
        coverage:
          refs.coverageId === undefined
            ? { display: 'coverage' }
            : { reference: `Coverage/${refs.coverageId}` },
      },
    ],
    ...(claim.diagnosis === undefined ? {} : { diagnosis: claim.diagnosis }),
    item: items,
    adjudication: [
      {
        category: { coding: [{ system: C4BB_PAYER_ADJUDICATION_STATUS, code: 'innetwork' }] },
      },
    ],
    total: [
      ...((response.total ?? []) as NonNullable<ExplanationOfBenefit['total']>),
      liabilityAdjudication(owed, currency) as NonNullable<ExplanationOfBenefit['total']>[number],
    ],
    ...(response.payment?.amount === undefined
      ? {}
      : {
          payment: {
            ...(response.payment.type ? { type: response.payment.type } : {}),
            amount: response.payment.amount,
          },
        }),
  };
}

/** What the patient owes on an EOB (its `memberliability` total), in cents; 0 if absent. */
export function memberLiabilityOf(eob: ExplanationOfBenefit): number {
  const total = (eob.total ?? []).find((t) => t.category.coding?.some((c) => c.code === 'memberliability'));
  return amountCents(total?.amount);
}
