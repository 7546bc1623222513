/**
 * The chart's allergy and problem banner (issue 22, "For clinicians"): the patient's active
 * AllergyIntolerance records and active problem-list Conditions, above everything else on the chart.
 * "No known allergies" is said only when the chart was read; an empty list is not proof of none.
 */
import { h } from '../dom.js';
import { activeAllergies, activeProblems, type BannerRecord, conceptText } from './clinician-banner-rules.js';

export function allergyProblemBanner(resources: readonly BannerRecord[]): HTMLElement {
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
