/**
 * An inline confirmation (issue 22: before granting to an address that is not a known member, before
 * revoking): a panel in the page, not `window.confirm`, so it carries a heading and a paragraph a screen
 * reader announces, and focus returns to where the person was once they answer.
 */
import { h, replace, uid } from './dom.js';

export interface ConfirmOptions {
  readonly title: string;
  readonly paragraphs: readonly string[];
  readonly confirmLabel: string;
  readonly danger?: boolean;
}

/** Shows the question in `host`; resolves true on confirm, false on cancel (Escape cancels too). */
export function confirmInline(host: HTMLElement, options: ConfirmOptions): Promise<boolean> {
  const returnTo = document.activeElement as HTMLElement | null;
  const headingId = uid('confirm');
  return new Promise((resolve) => {
    const answer = (yes: boolean) => {
      replace(host);
      // Back where the person was, if that control is still in the page.
      if (returnTo?.isConnected === true) returnTo.focus();
      resolve(yes);
    };
    const cancel = h(
      'button',
      { type: 'button', class: 'confirm-cancel', onclick: () => answer(false) },
      'Cancel',
    );
    const panel = h(
      'div',
      {
        class: 'card confirm',
        role: 'alertdialog',
        'aria-labelledby': headingId,
        onkeydown: (event: Event) => {
          if ((event as KeyboardEvent).key === 'Escape') answer(false);
        },
      },
      h('h3', { id: headingId }, options.title),
      options.paragraphs.map((p) => h('p', {}, p)),
      h(
        'div',
        { class: 'row' },
        h(
          'button',
          {
            type: 'button',
            class: `confirm-ok ${options.danger === true ? 'danger' : 'primary'}`,
            onclick: () => answer(true),
          },
          options.confirmLabel,
        ),
        cancel,
      ),
    );
    replace(host, panel);
    // The less harmful answer has the focus (WAI-ARIA APG, alertdialog).
    cancel.focus();
  });
}
