/** Notifications (break-glass on the patient's record, access requests; for a privacy officer, reviews). */
import { errorText, getJson, request, searchAll } from '../api.js';
import type { BreakGlassSession } from '../break-glass-session.js';
import { formatDateTime, h, message, replace } from '../dom.js';
import { showUnreadCounts } from '../nav-counts.js';
import { type AccessRequestParts, notificationWords } from '../notification-words.js';
import { loadDirectory, withPractitionerNames } from '../people.js';
import { outcomeWords } from '../review-words.js';
import { isPatient, patientId, session } from '../session.js';
import { personName } from '../words.js';

interface ProposedConsent {
  id: string;
  performer?: { reference?: string }[];
  provision?: { purpose?: { code?: string }[] };
}

/** The patient's open requests for access (proposed Consents), by id, to name who asks and why. */
async function loadRequests(): Promise<Map<string, AccessRequestParts>> {
  const s = session();
  if (!isPatient(s)) return new Map();
  const proposals = await searchAll<ProposedConsent>(
    `/fhir/Consent?patient=${encodeURIComponent(patientId(s))}&status=proposed&_count=100`,
  ).catch(() => []);
  return new Map(
    proposals.map((p) => [
      p.id,
      {
        ...(p.performer?.[0]?.reference === undefined ? {} : { requester: p.performer[0].reference }),
        purposes: (p.provision?.purpose ?? []).map((x) => x.code ?? ''),
      },
    ]),
  );
}

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
  'supply-recall': 'Recall notice',
  'integrity-alert': 'Integrity alert',
};

function capitalised(text: string): string {
  return text === '' ? text : `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

export async function renderNotifications(main: HTMLElement): Promise<void> {
  const { notifications } = await getJson<{ notifications: Notification[] }>('/notifications');
  const forPatient = isPatient(session());
  // The privacy officer reads the sessions too (the review queue's list), to name who opened what.
  const [sessions, requests] = await Promise.all([
    // Only the patient and the privacy officer may list sessions; a clinician's request would be refused.
    (forPatient || session()?.roles.includes('privacy-officer') === true
      ? getJson<{ sessions: BreakGlassSession[] }>('/break-glass').then((r) => r.sessions)
      : Promise.resolve([] as BreakGlassSession[])
    ).catch(() => [] as BreakGlassSession[]),
    loadRequests(),
  ]);
  notifications.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const directory = await loadDirectory()
    .then((d) =>
      withPractitionerNames(d, [
        ...sessions.map((x) => x.who),
        ...[...requests.values()].map((r) => r.requester),
      ]),
    )
    .catch(() => undefined);
  const nameOf = (who: string) => (directory === undefined ? 'a clinician' : personName(who, directory));
  const words = (n: Notification) =>
    notificationWords(n, { sessions, requests, nameOf, when: formatDateTime, forPatient });
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
              h(
                'h2',
                { tabindex: '-1' },
                `${KIND[n.kind] ?? 'Notification'} · ${formatDateTime(n.createdAt)} `,
                status,
              ),
              h('p', {}, words(n)),
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
                          // Focus stays on this card (the button goes away), and the menu's count follows.
                          const card = (event.target as HTMLElement).closest('li');
                          (event.target as HTMLButtonElement).remove();
                          card?.querySelector<HTMLElement>('h2')?.focus();
                          const nav = document.getElementById('nav');
                          if (nav !== null) void showUnreadCounts(nav, session());
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
    !forPatient || sessions.length === 0
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
                  `${capitalised(nameOf(s.who))} opened emergency access from ${formatDateTime(s.startedAt)} to ${formatDateTime(s.expiresAt)}.`,
                ),
                h(
                  'p',
                  { class: 'meta' },
                  s.review === undefined
                    ? 'Awaiting review by the privacy officer.'
                    : `Reviewed by the privacy officer on ${formatDateTime(s.review.reviewedAt)}: ${outcomeWords(s.review.outcome).toLowerCase()}.`,
                ),
              ),
            ),
          ),
        ],
  );
}
