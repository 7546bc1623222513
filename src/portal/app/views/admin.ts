/**
 * Node administration: members and admission votes, practitioner credentials, the log's health,
 * witnesses, anchoring and chain sync. The operator's actions and the admin token they need are in
 * admin-operator-forms.ts; the tables and time words in admin-tables.ts.
 */

import {
  type DirectoryEntry,
  type LedgerPractitioner,
  practitionerRows,
} from '../admin-practitioner-rows.js';
import { errorText, getJson, request } from '../api.js';
import { consortiumMembers, nodeStatus } from '../context.js';
import { h, message, replace } from '../dom.js';
import { adminTokenInUse, renderOperatorForms } from './admin-operator-forms.js';
import { type Anchor, ago, cosignatureTimes, dateOf, facts, type Proposal, table } from './admin-tables.js';

export { ADMIN_TOKEN_MISSING, ADMIN_TOKEN_WRONG } from './admin-operator-forms.js';

const unavailable = <T>(promise: Promise<T>): Promise<T | Error> =>
  promise.catch((error: unknown) => new Error(errorText(error)));

export async function renderAdmin(main: HTMLElement): Promise<void> {
  const [status, members, checkpoint] = await Promise.all([
    nodeStatus(true),
    consortiumMembers(true),
    request('/log/checkpoint', { headers: { accept: 'text/plain' } })
      .then((r) => r.text())
      .catch(() => ''),
  ]);
  const [proposals, practitioners, anchors] = await Promise.all([
    unavailable(getJson<{ proposals: Proposal[] }>('/ledger/proposals').then((r) => r.proposals)),
    unavailable(
      getJson<{ practitioners: LedgerPractitioner[] }>(
        `/ledger/practitioners?organization=${encodeURIComponent(status.address)}`,
      ).then((r) => r.practitioners),
    ),
    Promise.all(
      members.map((m) =>
        unavailable(
          getJson<{ anchors: Anchor[] }>(`/ledger/anchors?origin=${encodeURIComponent(m.logOrigin)}`).then(
            (r) => r.anchors.at(-1),
          ),
        ),
      ),
    ),
  ]);
  const signatureLines = checkpoint.split('\n').filter((l) => l.startsWith('\u2014 '));
  const cosigners = signatureLines.map((l) => l.slice(2).split(' ')[0] ?? '');
  const cosignedAt = cosignatureTimes(signatureLines);
  const [origin, size] = checkpoint.split('\n');
  const log = (status.log ?? {}) as {
    size?: number;
    checkpointSize?: number | null;
    cosignedSize?: number | null;
    witnesses?: { total?: number; quorum?: number };
    anchoredSize?: number | null;
    lastAnchorError?: string | null;
  };
  const sync = (status.sync ?? {}) as {
    headBlock?: number | null;
    indexedBlock?: number | null;
    lagBlocks?: number | null;
    lagSeconds?: number | null;
    lastError?: string | null;
    reorgs?: number;
    events?: number;
  };
  const failed = (what: string, error: Error) => message('error', `Could not load ${what}: ${error.message}`);
  const forms = h('div', { id: 'admin-forms' });
  const practitionersBox = h('div', { id: 'practitioners-box' });
  // Issue 22: names and organisations, the ledger address as a detail; names need the admin token.
  const memberNames = new Map(members.map((m) => [m.address.toLowerCase(), m.name]));
  const redrawPractitioners = async () => {
    if (practitioners instanceof Error) {
      replace(practitionersBox, failed('the practitioners', practitioners));
      return;
    }
    const token = adminTokenInUse();
    const directory =
      token === undefined
        ? undefined
        : await getJson<{ practitioners: DirectoryEntry[] }>('/admin/practitioner-directory', {
            bearer: token,
            fhir: false,
          })
            .then((r) => r.practitioners)
            .catch(() => undefined);
    const rows = practitionerRows(practitioners, { members: memberNames, directory });
    replace(
      practitionersBox,
      directory === undefined && rows.length > 0
        ? h(
            'p',
            { class: 'hint' },
            'Give the admin token under “Operator actions” to see who each practitioner is.',
          )
        : null,
      table(
        'practitioners-table',
        `Practitioners attested by ${status.organization} (from the ledger)`,
        ['Practitioner', 'Organisation', 'Qualification', 'Attested until', 'Status'],
        rows.map((r) => [
          h(
            'span',
            {},
            r.name,
            h('br'),
            h('small', { class: 'meta' }, 'Ledger address ', h('code', { class: 'address' }, r.address)),
          ),
          r.organization,
          r.qualification,
          h('time', { datetime: new Date(r.expiresAt * 1000).toISOString() }, dateOf(r.expiresAt)),
          r.status,
        ]),
        'No practitioners attested by this member.',
      ),
    );
  };
  await redrawPractitioners();
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Administration'),
    h('h2', {}, `This node: ${status.organization}`),
    facts([
      ['Ledger address', status.address],
      ['Role', status.role],
      ['Chain', `id ${status.chain.chainId}`],
      [
        'Contracts',
        Object.entries(status.chain.contracts)
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
      ],
    ]),
    h('h2', { id: 'chain-sync' }, 'Chain sync and outbox'),
    facts([
      ['Indexed block', sync.indexedBlock ?? 'none yet'],
      ['Chain head', sync.headBlock ?? 'unknown'],
      [
        'Lag',
        sync.lagBlocks === null || sync.lagBlocks === undefined
          ? 'unknown'
          : `${sync.lagBlocks} blocks${
              typeof sync.lagSeconds === 'number'
                ? `, newest indexed block ${Math.round(sync.lagSeconds)} s old`
                : ''
            }`,
      ],
      ['Last sync error', sync.lastError ?? 'none'],
      ['Re-orgs handled', sync.reorgs ?? 0],
      ['Events indexed', sync.events ?? 0],
      ...Object.entries(status.outbox ?? {}).map(([k, v]): [string, unknown] => [`Outbox ${k}`, v]),
    ]),
    h('h2', { id: 'log-health' }, 'Transparency log'),
    facts([
      ['Origin', origin ?? status.logOrigin],
      ['Entries', log.size ?? ''],
      ['Latest checkpoint size', size ?? log.checkpointSize ?? 'none yet'],
      [
        'Latest checkpoint age',
        cosignedAt.length === 0 ? 'not cosigned yet' : `cosigned ${ago(Math.max(...cosignedAt))}`,
      ],
      ['Latest cosigned size', log.cosignedSize ?? 'none yet'],
      [
        'Witnesses',
        `${cosignedAt.length} cosignatures on the latest checkpoint; ${
          log.witnesses?.total ?? 0
        } witnesses, quorum ${log.witnesses?.quorum ?? 0}`,
      ],
      ['Signatures on the latest checkpoint', cosigners.join(', ') || 'none'],
      ['Anchored size', log.anchoredSize ?? 'none yet'],
      ['Last anchoring error', log.lastAnchorError ?? 'none'],
    ]),
    h('h2', { id: 'anchoring' }, 'Anchoring'),
    table(
      'anchors-table',
      'Latest anchored checkpoint of each member’s log (CheckpointAnchor)',
      ['Member', 'Log origin', 'Anchored size', 'Anchored', 'Block'],
      members.map((m, i) => {
        const anchor = anchors[i];
        if (anchor instanceof Error) return [m.name, m.logOrigin, anchor.message, '', ''];
        if (anchor === undefined) return [m.name, m.logOrigin, 'not anchored yet', '', ''];
        return [
          m.name,
          m.logOrigin,
          String(anchor.treeSize),
          h('time', { datetime: new Date(anchor.anchoredAt * 1000).toISOString() }, ago(anchor.anchoredAt)),
          String(anchor.blockNumber),
        ];
      }),
      'No members.',
    ),
    h('h2', { id: 'members' }, 'Members'),
    table(
      'members-table',
      'Consortium members (from the ledger)',
      ['Name', 'Role', 'Status', 'Address', 'Log', 'Admitted at block'],
      members.map((m) => [
        m.name,
        m.role,
        m.status,
        h('code', {}, m.address),
        m.logOrigin,
        String(m.admittedBlock ?? ''),
      ]),
      'No members indexed yet.',
    ),
    h('h2', { id: 'proposals' }, 'Admission and removal votes'),
    proposals instanceof Error
      ? failed('the proposals', proposals)
      : table(
          'proposals-table',
          'Membership proposals and their votes (from the ledger)',
          ['Proposal', 'Kind', 'Member', 'Proposed by', 'Votes', 'Voted', 'Status'],
          proposals.map((p) => [
            p.id,
            p.kind,
            h('span', {}, p.subjectName ?? '', ' ', h('code', {}, p.subject)),
            p.proposerName ?? p.proposer,
            `${p.votes} of ${p.threshold}`,
            p.voters.map((v) => v.name ?? v.address).join(', '),
            p.status === 'pending' ? `pending until ${dateOf(p.expiresAt)}` : p.status,
          ]),
          'No proposals yet.',
        ),
    h('h2', { id: 'practitioners' }, 'Practitioner credentials'),
    practitionersBox,
    forms,
  );
  renderOperatorForms(forms, () => void redrawPractitioners());
}
