/**
 * Unread counts in the menu (issue 22, "unread counts for notifications and messages"), as a patient
 * portal shows them: "Messages 2", "Notifications 1", each read by a screen reader as "2 unread".
 * Loaded after the menu is drawn, so a slow count never holds the page; a count that cannot be read is
 * left out rather than shown as 0. The phone's "Menu" button shows their sum.
 */
import { getJson } from './api.js';
import { h } from './dom.js';
import { isPatient, type Session } from './session.js';

async function unreadNotifications(): Promise<number | undefined> {
  return getJson<{ notifications: { readAt?: string }[] }>('/notifications')
    .then((r) => r.notifications.filter((n) => n.readAt === undefined).length)
    .catch(() => undefined);
}

async function unreadMessages(): Promise<number | undefined> {
  return getJson<{ unread: number }>('/patient-rights/messages/unread')
    .then((r) => r.unread)
    .catch(() => undefined);
}

function badge(element: Element, testId: string, count: number | undefined): void {
  if (count === undefined) return;
  element.querySelector('.nav-count')?.remove();
  if (count === 0) return;
  element.append(
    h(
      'span',
      { class: 'nav-count', 'data-testid': testId },
      h('span', { 'aria-hidden': 'true' }, String(count)),
      h('span', { class: 'visually-hidden' }, ` (${count} unread)`),
    ),
  );
}

function mark(nav: HTMLElement, path: string, count: number | undefined): void {
  const link = nav.querySelector<HTMLAnchorElement>(`a[href="#/${path}"]`);
  if (link !== null) badge(link, `${path}-unread`, count);
}

/** Adds the counts to the menu's Messages and Notifications links, if the person has them. */
export async function showUnreadCounts(nav: HTMLElement, s: Session | undefined): Promise<void> {
  if (s === undefined) return;
  const patient = isPatient(s);
  const [notifications, messages] = await Promise.all([
    nav.querySelector('a[href="#/notifications"]') === null ? undefined : unreadNotifications(),
    patient && nav.querySelector('a[href="#/messages"]') !== null ? unreadMessages() : undefined,
  ]);
  if (!nav.isConnected) return;
  mark(nav, 'notifications', notifications);
  mark(nav, 'messages', messages);
  // On a phone the menu is folded: the "Menu" button carries the sum, so unread items are still seen.
  const toggle = document.getElementById('menu-toggle');
  if (toggle !== null && (notifications !== undefined || messages !== undefined)) {
    badge(toggle, 'menu-unread', (notifications ?? 0) + (messages ?? 0));
  }
}
