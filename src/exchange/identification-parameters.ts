import type { Parameters } from '@medplum/fhirtypes';
import { LEDGER_ADDRESS_SYSTEM } from '../access/index.js';
import { DATA_CATEGORY_SYSTEM } from '../consent/index.js';
import {
  DATA_CATEGORIES,
  type DataCategory,
  PURPOSE_OF_USE_SYSTEM,
  PURPOSES_OF_USE,
} from '../ledger/index.js';

/** What `Patient/$identify` answers: the holder's Patient id and the categories the grant moves. */
export interface Identification {
  readonly patientId: string;
  readonly address: string;
  readonly categories: readonly string[];
}

/** The answer as a FHIR Parameters resource: a Reference (id and ledger identifier only), purpose, categories. */
export function identificationParameters(found: Identification, purpose: string): Parameters {
  return {
    resourceType: 'Parameters',
    parameter: [
      {
        name: 'patient',
        valueReference: {
          reference: `Patient/${found.patientId}`,
          identifier: { system: LEDGER_ADDRESS_SYSTEM, value: found.address },
        },
      },
      {
        name: 'purpose',
        valueCoding: {
          system: PURPOSE_OF_USE_SYSTEM,
          code: purpose,
          display: PURPOSES_OF_USE[purpose as keyof typeof PURPOSES_OF_USE]?.display ?? purpose,
        },
      },
      ...found.categories.map((code) => ({
        name: 'category',
        valueCoding: {
          system: DATA_CATEGORY_SYSTEM,
          code,
          display: DATA_CATEGORIES[code as DataCategory]?.display ?? code,
        },
      })),
    ],
  };
}

/** Reads an answer of `Patient/$identify`; undefined when it names no Patient. */
export function parseIdentificationParameters(
  body: unknown,
): { patientId: string; categories: string[] } | undefined {
  const parameters = body as Parameters | undefined;
  if (parameters?.resourceType !== 'Parameters') return undefined;
  const reference = parameters.parameter?.find((p) => p.name === 'patient')?.valueReference?.reference;
  const match = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(reference ?? '');
  if (match?.[1] === undefined) return undefined;
  const categories = (parameters.parameter ?? [])
    .filter((p) => p.name === 'category' && p.valueCoding?.system === DATA_CATEGORY_SYSTEM)
    .map((p) => p.valueCoding?.code ?? '')
    .filter((code) => code !== '');
  return { patientId: match[1], categories };
}

/** "Laboratory results and Medications" (a list in words). */
export function categoryWords(categories: readonly string[]): string {
  const words = categories.map((c) => DATA_CATEGORIES[c as DataCategory]?.display ?? c);
  if (words.length <= 1) return words[0] ?? 'no records';
  return `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;
}

/**
 * What a pull from one member may carry, in words, for the clinician's report: the grant covers these
 * categories for this purpose; without "Demographics" the member matched the patient by ledger address
 * and sent no demographics.
 */
export function grantCoverageWords(categories: readonly string[], purpose: string): string {
  const purposeWords = PURPOSES_OF_USE[purpose as keyof typeof PURPOSES_OF_USE]?.display ?? purpose;
  const covers = `the patient's grant covers ${categoryWords(categories)} for ${purposeWords}`;
  return categories.includes('demographics')
    ? covers
    : `${covers}; the patient was matched by ledger address only (no demographics)`;
}
