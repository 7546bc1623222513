/**
 * The chart's allergy and problem banner (issue 22, "For clinicians"): the patient's active
 * AllergyIntolerance records and active problem-list Conditions, above everything else on the chart.
 * "No known allergies" is said only when the chart was read; an empty list is not proof of none.
 */
import type { AllergyIntolerance, CodeableConcept, Condition } from '@medplum/fhirtypes';
import { h } from '../dom.js';

function conceptText(concept: CodeableConcept | undefined): string {
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
type Resource = { readonly resourceType: string };

/** Active, not refuted and not entered in error. */
export function activeAllergies(resources: readonly Resource[]): AllergyIntolerance[] {
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
export function activeProblems(resources: readonly Resource[]): Condition[] {
  return (resources as readonly Condition[]).filter((r) => {
    if (r.resourceType !== 'Condition') return false;
    if (statusOf(r.verificationStatus) === 'entered-in-error') return false;
    if (!['active', 'recurrence', 'relapse'].includes(statusOf(r.clinicalStatus) ?? '')) return false;
    const categories = (r.category ?? []).flatMap((c) => c.coding ?? []).map((c) => c.code);
    return categories.length === 0 || categories.includes('problem-list-item');
  });
}

export function allergyProblemBanner(resources: readonly Resource[]): HTMLElement {
  const allergies = activeAllergies(resources);
  const problems = activeProblems(resources);
  const allergyText = allergies.map((a) => {
    const severe = a.criticality === 'high' ? ' (high risk)' : '';
    const reaction = a.reaction?.[0]?.manifestation?.[0];
    return `${conceptText(a.code)}${severe}${reaction === undefined ? '' : ` – ${conceptText(reaction)}`}`;
  });
  return h(
    'section',
    { class: 'clinical-banner', id: 'clinical-banner', 'aria-label': 'Allergies and problems' },
    h(
      'p',
      {
        class: allergies.length === 0 ? 'banner-allergies none' : 'banner-allergies',
        id: 'banner-allergies',
      },
      h('strong', {}, 'Allergies: '),
      allergies.length === 0 ? 'no known allergies recorded' : allergyText.join('; '),
    ),
    h(
      'p',
      { class: 'banner-problems', id: 'banner-problems' },
      h('strong', {}, 'Problems: '),
      problems.length === 0 ? 'none active' : problems.map((p) => conceptText(p.code)).join('; '),
    ),
  );
}
