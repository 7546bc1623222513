/**
 * Which records the chart's banner shows (no DOM: tested under Node). See clinician-banner.ts.
 */
import type { AllergyIntolerance, CodeableConcept, Condition } from '@medplum/fhirtypes';

export function conceptText(concept: CodeableConcept | undefined): string {
  return (
    concept?.text ??
    concept?.coding?.find((c) => c.display !== undefined)?.display ??
    concept?.coding?.[0]?.code ??
    'Unnamed'
  );
}

function statusOf(concept: CodeableConcept | undefined): string | undefined {
  return concept?.coding?.[0]?.code;
}

/** Any record as the portal holds it. */
export type BannerRecord = { readonly resourceType: string };

/** Active, not refuted and not entered in error. */
export function activeAllergies(resources: readonly BannerRecord[]): AllergyIntolerance[] {
  return (resources as readonly AllergyIntolerance[]).filter((r) => {
    if (r.resourceType !== 'AllergyIntolerance') return false;
    const clinical = statusOf(r.clinicalStatus);
    const verification = statusOf(r.verificationStatus);
    return (
      (clinical === undefined || clinical === 'active') &&
      verification !== 'refuted' &&
      verification !== 'entered-in-error'
    );
  });
}

/** Active problem-list items (a Condition with no category counts: many systems leave it out). */
export function activeProblems(resources: readonly BannerRecord[]): Condition[] {
  return (resources as readonly Condition[]).filter((r) => {
    if (r.resourceType !== 'Condition') return false;
    if (statusOf(r.verificationStatus) === 'entered-in-error') return false;
    if (!['active', 'recurrence', 'relapse'].includes(statusOf(r.clinicalStatus) ?? '')) return false;
    const categories = (r.category ?? []).flatMap((c) => c.coding ?? []).map((c) => c.code);
    return categories.length === 0 || categories.includes('problem-list-item');
  });
}
