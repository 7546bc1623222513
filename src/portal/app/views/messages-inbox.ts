/**
 * Messages with the care team (issue 22): FHIR Communications about the patient, threaded by
 * `inResponseTo`; a new message goes to the whole care team, a reply to the thread's sender. Opening
 * a thread reads each unread message (an audited FHIR read), which is what marks it read.
 */
import { errorText, getJson, request, searchAll, sendJson } from '../api.js';
import { formatDateTime, h, message } from '../dom.js';
import { loadDirectory, withPractitionerNames } from '../people.js';
import { patientId, session } from '../session.js';
import { personName } from '../words.js';

interface Communication {
  id: string;
  sent?: string;
  sender?: { reference?: string };
  recipient?: { reference?: string }[];
  inResponseTo?: { reference?: string }[];
  payload?: { contentString?: string }[];
}

/** Threads: each root message with its replies, oldest first; threads newest first. */
export function threadMessages(all: readonly Communication[]): Communication[][] {
  const byId = new Map(all.map((m) => [m.id, m]));
  const rootOf = (m: Communication): string => {
    let current = m;
    for (let i = 0; i < 50; i++) {
      const parent = byId.get(current.inResponseTo?.[0]?.reference?.replace('Communication/', '') ?? '');
      if (parent === undefined) return current.id;
      current = parent;
    }
    return current.id;
  };
  const threads = new Map<string, Communication[]>();
  for (const m of all) threads.set(rootOf(m), [...(threads.get(rootOf(m)) ?? []), m]);
  const list = [...threads.values()].map((t) => t.sort((a, b) => (a.sent ?? '').localeCompare(b.sent ?? '')));
  return list.sort((a, b) => (b.at(-1)?.sent ?? '').localeCompare(a.at(-1)?.sent ?? ''));
}

export async function unreadMessageCount(): Promise<number> {
  return (await getJson<{ unread: number }>('/patient-rights/messages/unread')).unread;
}

export async function renderMessages(main: HTMLElement): Promise<void> {
  const id = patientId(session());
  const [all, unread, loaded] = await Promise.all([
    searchAll<Communication>(`/fhir/Communication?subject=${encodeURIComponent(`Patient/${id}`)}&_count=100`),
    getJson<{ unread: number; ids: string[] }>('/patient-rights/messages/unread'),
    loadDirectory().catch(() => undefined),
  ]);
  // Issue 22: the care team by their personal names (their Practitioner resources at this node).
  const directory =
    loaded === undefined
      ? undefined
      : await withPractitionerNames(
          loaded,
          all.flatMap((m) => [m.sender?.reference, ...(m.recipient ?? []).map((r) => r.reference)]),
        );
  const unreadIds = new Set(unread.ids);
  const nameOf = (ref: string | undefined) =>
    ref === `Patient/${id}` ? 'You' : directory === undefined ? 'Your care team' : personName(ref, directory);
  const status = h('div', { id: 'message-status', tabindex: '-1', 'aria-live': 'polite' });

  const compose = (replyTo: Communication | undefined): HTMLElement => {
    const text = h('textarea', {
      rows: 3,
      maxlength: 4000,
      'aria-label': replyTo ? 'Your reply' : 'Your message',
    });
    return h(
      'form',
      {
        class: 'compose',
        // Our own words beside the form, not the browser's bubble (issue 22 item 3).
        novalidate: true,
        onsubmit: async (event: Event) => {
          event.preventDefault();
          if (text.value.trim() === '') {
            text.setAttribute('aria-invalid', 'true');
            status.replaceChildren(message('error', 'Write your message first.'));
            text.focus();
            return;
          }
          try {
            const recipient = replyTo?.sender?.reference;
            await sendJson(
              '/patient-rights/messages',
              {
                text: text.value,
                ...(replyTo === undefined ? {} : { inResponseTo: `Communication/${replyTo.id}` }),
                ...(recipient?.startsWith('Practitioner/') === true ? { recipient } : {}),
              },
              { fhir: false },
            );
            await renderMessages(main);
            // Focus stays by the conversation: on the confirmation, not back at the top of the page.
            const sent = document.getElementById('message-status');
            if (sent !== null) {
              sent.replaceChildren(
                message(
                  'ok',
                  replyTo === undefined ? 'Your message was sent to your care team.' : 'Your reply was sent.',
                ),
              );
              sent.focus();
            }
          } catch (error) {
            status.replaceChildren(message('error', errorText(error)));
          }
        },
      },
      text,
      h('button', { type: 'submit' }, replyTo === undefined ? 'Send to your care team' : 'Reply'),
    );
  };

  const threads = threadMessages(all);
  const threadCard = (thread: Communication[]): HTMLElement => {
    const newCount = thread.filter((m) => unreadIds.has(m.id)).length;
    const body = h('div', {});
    const details = h(
      'details',
      {
        class: 'card',
        'data-testid': 'message-thread',
        ontoggle: async () => {
          if (!details.open) return;
          // Opening marks the messages read: one audited read each.
          for (const m of thread.filter((x) => unreadIds.has(x.id))) {
            await request(`/fhir/Communication/${encodeURIComponent(m.id)}`).catch(() => undefined);
            unreadIds.delete(m.id);
          }
        },
      },
      h(
        'summary',
        {},
        h('strong', {}, thread[0]?.payload?.[0]?.contentString?.slice(0, 80) ?? 'Message'),
        ` — ${formatDateTime(thread.at(-1)?.sent)}`,
        newCount > 0
          ? h('span', { class: 'badge', 'data-testid': 'thread-unread' }, ` ${newCount} new`)
          : null,
      ),
      body,
    );
    body.append(
      h(
        'ol',
        { class: 'thread' },
        thread.map((m) =>
          h(
            'li',
            {},
            h('p', { class: 'hint' }, `${nameOf(m.sender?.reference)}, ${formatDateTime(m.sent)}`),
            h('p', {}, m.payload?.map((p) => p.contentString ?? '').join('\n') ?? ''),
          ),
        ),
      ),
      compose([...thread].reverse().find((m) => m.sender?.reference !== `Patient/${id}`) ?? thread.at(-1)),
    );
    return details;
  };

  main.replaceChildren(
    h('h1', { tabindex: '-1' }, 'Messages'),
    h(
      'p',
      { 'data-testid': 'unread-count' },
      unread.unread === 0 ? 'No unread messages.' : `${unread.unread} unread`,
    ),
    h(
      'section',
      { 'aria-labelledby': 'new-title' },
      h('h2', { id: 'new-title' }, 'Write to your care team'),
      compose(undefined),
    ),
    status,
    threads.length === 0
      ? message('info', 'No messages yet.')
      : h('div', { class: 'cards', 'data-testid': 'message-threads' }, threads.map(threadCard)),
  );
}
