/**
 * The menu's "Menu" button on a phone (issue 22: at 375 px the menu took 5–6 rows above every page).
 * A disclosure button (WAI-ARIA Authoring Practices, "Disclosure (Show/Hide)" pattern): `aria-expanded`
 * says whether the menu is shown, `aria-controls` names it. The stylesheet shows the button and hides
 * the closed menu only at phone widths, so a wide screen keeps the menu as it was and never sees the
 * button. The menu starts closed, and closes again after each navigation (the menu is drawn anew),
 * after a link in it is chosen, and on Escape, which also puts focus back on the button.
 */

function toggleButton(): HTMLButtonElement | null {
  return document.getElementById('menu-toggle') as HTMLButtonElement | null;
}

function isOpen(button: HTMLButtonElement): boolean {
  return button.getAttribute('aria-expanded') === 'true';
}

function setOpen(button: HTMLButtonElement, open: boolean): void {
  button.setAttribute('aria-expanded', String(open));
}

/**
 * Called each time the menu is drawn: closes it, and hides the button when the menu has no page
 * links (a visitor's menu is one "Sign in" button: nothing to fold away).
 */
export function resetMenuToggle(hasLinks: boolean): void {
  const button = toggleButton();
  if (button === null) return;
  setOpen(button, false);
  button.hidden = !hasLinks;
  // The unread sum is drawn again by nav-counts.ts for the new menu (and gone after signing out).
  button.querySelector('.nav-count')?.remove();
}

/** Wires the button once, when the portal starts. */
export function setUpMenuToggle(): void {
  const button = toggleButton();
  const nav = document.getElementById('nav');
  if (button === null || nav === null) return;
  button.addEventListener('click', () => setOpen(button, !isOpen(button)));
  // Choosing the page already shown changes no address, so no new menu is drawn: close it here.
  nav.addEventListener('click', (event) => {
    if ((event.target as Element).closest('a') !== null) setOpen(button, false);
  });
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || !isOpen(button)) return;
    const focus = document.activeElement;
    if (focus !== button && !nav.contains(focus)) return;
    setOpen(button, false);
    button.focus();
  });
}
