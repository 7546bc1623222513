/**
 * Shows what a person must fix beside the field it concerns (WCAG 3.3.1 and 3.3.3): the control is
 * marked aria-invalid and described by the message, and focus goes to the first field to fix.
 */

import { h } from './dom.js';
import type { FieldProblem } from './form-checks.js';

type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

/** Removes every message a previous attempt left in `form`. */
export function clearFieldErrors(form: HTMLElement): void {
  for (const error of form.querySelectorAll('.field-error')) error.remove();
  for (const control of form.querySelectorAll<HTMLElement>('[aria-invalid]')) {
    control.removeAttribute('aria-invalid');
    const describedBy = (control.getAttribute('aria-describedby') ?? '')
      .split(' ')
      .filter((id) => id !== '' && !id.endsWith('-error'));
    if (describedBy.length === 0) control.removeAttribute('aria-describedby');
    else control.setAttribute('aria-describedby', describedBy.join(' '));
  }
}

/**
 * Puts each problem beside its control (`controls` maps a problem's field name to it); returns the
 * problems whose field has no control here (to show above the form). Focuses the first invalid control.
 */
export function showFieldErrors(
  form: HTMLElement,
  problems: readonly FieldProblem[],
  controls: Readonly<Record<string, Control>>,
): FieldProblem[] {
  clearFieldErrors(form);
  const unplaced: FieldProblem[] = [];
  let first: Control | undefined;
  for (const problem of problems) {
    const control = controls[problem.field];
    if (control === undefined) {
      unplaced.push(problem);
      continue;
    }
    const id = `${control.id}-error`;
    const existing = form.querySelector(`#${CSS.escape(id)}`);
    if (existing !== null) {
      existing.append(` ${problem.message}`);
      continue;
    }
    const error = h('p', { class: 'field-error', id }, problem.message);
    control.insertAdjacentElement('afterend', error);
    control.setAttribute('aria-invalid', 'true');
    control.setAttribute(
      'aria-describedby',
      [control.getAttribute('aria-describedby'), id].filter(Boolean).join(' '),
    );
    first ??= control;
  }
  first?.focus();
  return unplaced;
}
