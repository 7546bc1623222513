/** Notifications (break-glass on the patient's record, access requests; for a privacy officer, reviews). */
import { errorText, getJson, request } from '../api.js';
import type { BreakGlassSession } from '../break-glass-session.js';
import { formatDateTime, h, message, replace } from '../dom.js';
import { loadDirectory } from '../people.js';
import { isPatient, session } from '../session.js';
import { personName } from '../words.js';

interface Notification {
  id: string;
  kind: string;
  message: string;
  subject: string;
  createdAt: string;
  readAt?: string;
}

const KIND: Record<string, string> = {
  'break-glass': 'Emergency access',
  'break-glass-review': 'Emergency access reviewed',
  'access-request': 'Request for access',
};

export async function renderNotifications(main: HTMLElement): Promise<void> {
  const { notifications } = await getJson<{ notifications: Notification[] }>('/notifications');
  const sessions = isPatient(session())
    ? (
        await getJson<{ sessions: BreakGlassSession[] }>('/break-glass').catch(() => ({
          sessions: [] as BreakGlassSession[],
        }))
      ).sessions
    : [];
  notifications.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const directory = await loadDirectory().catch(() => undefined);
  const nameOf = (who: string) => (directory === undefined ? who : personName(who, directory));
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Notifications'),
    notifications.length === 0
      ? message('info', 'No notifications.')
      : h(
          'ul',
          { class: 'cards', id: 'notification-list' },
          notifications.map((n) => {
            const status = h(
              'span',
              { class: `badge ${n.readAt === undefined ? 'badge-bad' : 'badge-muted'}` },
              n.readAt === undefined ? 'new' : 'read',
            );
            return h(
              'li',
              { class: 'card' },
              h('h2', {}, `${KIND[n.kind] ?? n.kind} · ${formatDateTime(n.createdAt)} `, status),
              h('p', {}, n.message),
              n.kind === 'access-request'
                ? h('p', {}, h('a', { href: '#/consent' }, 'Answer this request in Sharing'))
                : null,
              n.readAt === undefined
                ? h(
                    'button',
                    {
                      type: 'button',
                      class: 'small',
                      onclick: async (event: Event) => {
                        try {
                          await request(`/notifications/${encodeURIComponent(n.id)}/read`, {
                            method: 'POST',
                          });
                          status.textContent = 'read';
                          status.className = 'badge badge-muted';
                          (event.target as HTMLButtonElement).remove();
                        } catch (error) {
                          status.textContent = errorText(error);
                        }
                      },
                    },
                    'Mark as read',
                  )
                : null,
            );
          }),
        ),
    sessions.length === 0
      ? null
      : [
          h('h2', {}, 'Emergency (break-glass) access to your records'),
          h(
            'ul',
            { class: 'cards' },
            sessions.map((s) =>
              h(
                'li',
                { class: 'card' },
                h(
                  'p',
                  {},
                  `${nameOf(s.who)} opened emergency access from ${formatDateTime(s.startedAt)} to ${formatDateTime(s.expiresAt)}.`,
                ),
                h(
                  'p',
                  { class: 'meta' },
                  s.review === undefined
                    ? 'Awaiting review by the privacy officer.'
                    : `Reviewed ${formatDateTime(s.review.reviewedAt)}: ${s.review.outcome}.`,
                ),
              ),
            ),
          ),
        ],
  );
}
