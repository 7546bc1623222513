import type { Address, Hex } from 'viem';
import { DATA_CATEGORIES, type DataCategory, encodeCategories, encodePurposes } from '../ledger/index.js';
import type { ConsentCheck, ConsentDecision } from './consent-check.js';

/**
 * Issue 22 item 1: the categories whose grant lets a member identify a patient, i.e. every one. A
 * patient who grants a member only "Laboratory results" means the member to receive their lab results;
 * for that the holder must be able to match the patient's ledger address to its own Patient id. That
 * link (not the Patient's demographics, which stay behind the "Demographics" category) is what a grant
 * of any category discloses to its grantee.
 */
export const IDENTIFYING_CATEGORIES: readonly DataCategory[] = Object.keys(DATA_CATEGORIES) as DataCategory[];

type Refusal = Extract<ConsentDecision, { allowed: false }>['reason'];

export type IdentificationDecision =
  | {
      readonly allowed: true;
      /** The categories a grant in force covers for the purpose, in DATA_CATEGORIES order. */
      readonly categories: readonly DataCategory[];
      readonly grantId: Hex;
    }
  | { readonly allowed: false; readonly reason: Refusal };

/**
 * Which refusal tells the grantee most when no category is covered: a grant that would have covered
 * the request but lapsed says more than "not covered", which says more than "no grant".
 */
const TELLING: readonly Refusal[] = [
  'revoked',
  'expired',
  'not-yet-valid',
  'delegation-not-in-force',
  'opening-mismatch',
  'opening-missing',
  'not-covered',
  'no-grant',
];

/**
 * May `grantee` identify `patient` for `purpose` at `at`: is a grant from the patient in force that
 * covers the purpose and at least one data category? Asks the consent check once per category (a
 * grant covers a query only when it covers every asked bit, so categories cannot be asked at once).
 */
export async function evaluateIdentification(
  consent: ConsentCheck,
  query: { patient: Address; grantee: Address; purpose: string; at: number },
): Promise<IdentificationDecision> {
  const purpose = encodePurposes([query.purpose]);
  const categories: DataCategory[] = [];
  let grantId: Hex | undefined;
  let reason: Refusal = 'no-grant';
  for (const category of IDENTIFYING_CATEGORIES) {
    const decision = await consent({
      patient: query.patient,
      grantee: query.grantee,
      category: encodeCategories([category]),
      purpose,
      at: query.at,
    });
    if (decision.allowed) {
      categories.push(category);
      grantId ??= decision.grantId;
    } else if (TELLING.indexOf(decision.reason) < TELLING.indexOf(reason)) reason = decision.reason;
    // No grant at all is the same answer for every category: ask no more.
    if (!decision.allowed && decision.reason === 'no-grant') break;
  }
  if (grantId === undefined) return { allowed: false, reason };
  return { allowed: true, categories, grantId };
}
