/**
 * The patient's research page (issue 18 items 2, 4, 5): the consortium's open studies in plain words,
 * joining one (an EIP-712 grant, purpose HRESCH, to the study's address, signed in this browser with
 * the patient's key and relayed by the node, as `careledger research join` does) and leaving it
 * (revoking), research in general, the studies that used the patient's data (from their access
 * history, with its proof) and their contribution credits. Nobody is in a study until they join.
 */
import { type Hex, hashTypedData } from 'viem';
import { signTypedData } from 'viem/accounts';
import { encodeCategories, encodePurposes } from '../../../ledger/codes.js';
import {
  createConsentDomain,
  createGrantSalt,
  createGrantTypedData,
  createRevokeTypedData,
} from '../../../ledger/eip712.js';
import { errorText, getJson, searchAll, sendJson } from '../api.js';
import { confirmInline } from '../confirm.js';
import { consortiumMembers, type Member, memberName, nodeStatus, unlockedKey } from '../context.js';
import { announce, h, message, replace } from '../dom.js';
import { waitForLedger } from '../ledger-index.js';
import { patientId, session } from '../session.js';
import { toHex } from '../verify/bytes.js';
import { LEDGER_ADDRESS_SYSTEM } from './consent.js';
import { keyUnlockForm } from './key-unlock.js';
import { type AuditEvent, type Credits, creditsSection, usedMyData } from './research-contributions.js';
import { loadStudies, type StudyView, studyData, studyPeriod, studyTitle } from './research-study.js';

/** The categories a "research in general" grant shares (as `careledger research join general`). */
export const GENERAL_CATEGORIES = ['demographics', 'conditions', 'laboratory', 'vital-signs'];

interface LedgerGrant {
  readonly grantId: Hex;
  readonly grantee: string;
  readonly notAfter: number;
  readonly revokedAt: number | null;
}

async function patientAddress(): Promise<string | undefined> {
  const key = unlockedKey();
  if (key !== undefined) return key.address;
  const patient = await getJson<{ identifier?: { system?: string; value?: string }[] }>(
    `/fhir/Patient/${encodeURIComponent(patientId(session()))}`,
  );
  return patient.identifier?.find((i) => i.system === LEDGER_ADDRESS_SYSTEM)?.value;
}

const inForce = (g: LedgerGrant, now: number) => g.revokedAt === null && now < g.notAfter;

export async function renderResearchPatient(main: HTMLElement): Promise<void> {
  replace(main, h('h1', { tabindex: '-1' }, 'Research'), message('info', 'Loading the studies…'));
  const [address, members, studies, credits, events] = await Promise.all([
    patientAddress(),
    consortiumMembers(),
    loadStudies(),
    getJson<Credits>('/research/credits').catch(() => undefined),
    searchAll<AuditEvent>(
      `/fhir/AuditEvent?patient=${encodeURIComponent(patientId(session()))}&_count=100`,
    ).catch(() => [] as AuditEvent[]),
  ]);
  const grants =
    address === undefined
      ? []
      : (await getJson<{ grants: LedgerGrant[] }>(`/ledger/consent/grants?patient=${address}`)).grants;
  const now = Math.floor(Date.now() / 1000);
  const joined = (grantee: string) =>
    grants.filter((g) => g.grantee.toLowerCase() === grantee.toLowerCase() && inForce(g, now));
  const status = h('div', { id: 'research-status' });
  const rerender = async (text: string) => {
    await renderResearchPatient(main);
    const done = document.getElementById('research-status');
    if (done === null) return;
    replace(done, message('ok', text));
    done.setAttribute('tabindex', '-1');
    done.focus();
    announce(text);
  };
  const open = studies.filter((s) => s.status === 'open');
  const general = studies[0]?.join.generalResearchGrantee;
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Research'),
    h(
      'p',
      {},
      'Research members of the consortium run studies approved by the consortium or by ethics boards. You are in no study unless you join it. A study receives your records only de-identified (no names, contact details or identifiers) and only in groups of people alike, never alone. Each choice is signed with your key in this browser and recorded on the ledger; you can leave at any time, and later releases leave you out.',
    ),
    status,
    h('h2', { id: 'open-studies-h' }, 'Open studies'),
    open.length === 0
      ? message('info', 'No study is open at the moment.')
      : h(
          'ul',
          { class: 'cards', id: 'open-studies', 'aria-labelledby': 'open-studies-h' },
          open.map((s) => studyCard(s, members, joined(s.join.grantee), address, status, rerender)),
        ),
    general === undefined ? null : generalCard(general, joined(general), address, status, rerender),
    usedMyData(events, studies, members),
    creditsSection(credits, studies, members),
  );
}

function studyCard(
  study: StudyView,
  members: readonly Member[],
  grants: readonly LedgerGrant[],
  address: string | undefined,
  status: HTMLElement,
  rerender: (text: string) => Promise<void>,
): HTMLElement {
  const title = studyTitle(study, members);
  const headingId = `study-${study.id.slice(2, 10)}-h`;
  const isIn = grants.length > 0;
  return h(
    'li',
    { class: 'card', 'data-study-id': study.id, 'aria-labelledby': headingId },
    h('h3', { id: headingId }, title),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Run by'),
      h('dd', {}, memberName(study.researcher, members)),
      h('dt', {}, 'Purpose'),
      h(
        'dd',
        {},
        ...(study.protocol === null ? [] : [h('p', {}, study.protocol.summary)]),
        'Health research under a protocol approved by ',
        study.ethicsBoards.length > 0
          ? `its ethics board (${study.ethicsBoards.map((b) => memberName(b, members)).join(', ')})`
          : 'the consortium’s vote',
        '. ',
        h('span', { class: 'meta' }, `Protocol fingerprint ${study.protocolHash.slice(0, 10)}…`),
      ),
      h('dt', {}, 'Period'),
      h('dd', {}, studyPeriod(study)),
      h('dt', {}, 'What it would receive'),
      h('dd', {}, `Your ${studyData(study)} (${study.resourceTypes.join(', ')})`),
      h('dt', {}, 'In what form'),
      h('dd', {}, study.patientWouldShare.form),
      h('dt', {}, 'Smallest group'),
      h('dd', {}, `${study.k} people alike (k = ${study.k}); a smaller group is left out of a release`),
    ),
    h(
      'p',
      {},
      h(
        'span',
        { class: `badge ${isIn ? 'badge-ok' : 'badge-muted'}` },
        isIn ? 'You are in this study' : 'You are not in this study',
      ),
    ),
    isIn
      ? h(
          'button',
          {
            type: 'button',
            class: 'small danger',
            'aria-describedby': headingId,
            onclick: () => void leave(title, grants, address, status, rerender),
          },
          'Leave this study',
        )
      : h(
          'button',
          {
            type: 'button',
            class: 'primary',
            'aria-describedby': headingId,
            onclick: () =>
              void join(
                title,
                study.join.grantee,
                [...study.categories],
                Math.floor(Date.parse(study.period.notAfter) / 1000),
                status,
                rerender,
              ),
          },
          'Sign and join this study',
        ),
  );
}

function generalCard(
  grantee: string,
  grants: readonly LedgerGrant[],
  address: string | undefined,
  status: HTMLElement,
  rerender: (text: string) => Promise<void>,
): HTMLElement {
  const isIn = grants.length > 0;
  const title = 'research in general';
  return h(
    'section',
    { 'aria-labelledby': 'general-h', class: 'card', id: 'general-research' },
    h('h2', { id: 'general-h' }, 'Research in general'),
    h(
      'p',
      {},
      'Instead of one study at a time, you can let every approved, open study receive your demographics, conditions, laboratory results and vital signs, de-identified, for one year.',
    ),
    h(
      'p',
      {},
      h(
        'span',
        { class: `badge ${isIn ? 'badge-ok' : 'badge-muted'}` },
        isIn ? 'You take part in research in general' : 'You do not take part in research in general',
      ),
    ),
    isIn
      ? h(
          'button',
          {
            type: 'button',
            class: 'small danger',
            onclick: () => void leave(title, grants, address, status, rerender),
          },
          'Leave research in general',
        )
      : h(
          'button',
          {
            type: 'button',
            onclick: () =>
              void join(
                title,
                grantee,
                GENERAL_CATEGORIES,
                Math.floor(Date.now() / 1000) + 365 * 86_400,
                status,
                rerender,
              ),
          },
          'Sign and join research in general',
        ),
  );
}

async function withKey(status: HTMLElement, purpose: string, then: () => Promise<void>): Promise<boolean> {
  if (unlockedKey() !== undefined) return true;
  replace(
    status,
    keyUnlockForm(async () => {
      replace(status);
      await then();
    }, purpose),
  );
  status.querySelector('input')?.focus();
  return false;
}

async function domain() {
  const status = await nodeStatus();
  return createConsentDomain(status.chain.chainId, status.chain.contracts.consentRegistry as Hex);
}

async function nextNonce(address: string): Promise<bigint> {
  return BigInt((await getJson<{ nonce: string }>(`/portal/api/consent-nonce?patient=${address}`)).nonce);
}

async function join(
  title: string,
  grantee: string,
  categories: string[],
  notAfter: number,
  status: HTMLElement,
  rerender: (text: string) => Promise<void>,
): Promise<void> {
  const again = () => join(title, grantee, categories, notAfter, status, rerender);
  if (!(await withKey(status, `Joining ${title} needs your signature.`, again))) return;
  const key = unlockedKey();
  if (key === undefined) return;
  replace(status, message('info', `Signing your consent to ${title} in your browser and sending it…`));
  try {
    const grant = {
      patient: key.address as Hex,
      grantee: grantee as Hex,
      categories: encodeCategories(categories),
      purposes: encodePurposes(['HRESCH']),
      salt: createGrantSalt(),
      notBefore: BigInt(Math.floor(Date.now() / 1000) - 60),
      notAfter: BigInt(notAfter),
      nonce: await nextNonce(key.address),
    };
    const typed = createGrantTypedData(await domain(), grant);
    const signature = await signTypedData({ privateKey: `0x${toHex(key.privateKey)}`, ...typed });
    await sendJson(
      '/ledger/consent/grants?wait=true',
      {
        grant: Object.fromEntries(
          Object.entries(grant).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]),
        ),
        signature,
      },
      { fhir: false },
    );
    await waitForLedger(key.address, hashTypedData(typed));
    await rerender(`You joined ${title}. Your consent is recorded on the ledger.`);
  } catch (error) {
    replace(status, message('error', `Your consent was not accepted: ${errorText(error)}`));
  }
}

async function leave(
  title: string,
  grants: readonly LedgerGrant[],
  address: string | undefined,
  status: HTMLElement,
  rerender: (text: string) => Promise<void>,
): Promise<void> {
  const again = () => leave(title, grants, address, status, rerender);
  if (unlockedKey() === undefined) {
    await withKey(status, `Leaving ${title} needs your signature.`, again);
    return;
  }
  const yes = await confirmInline(status, {
    title: `Leave ${title}?`,
    paragraphs: [
      'Releases made after the ledger records your choice leave your data out.',
      'De-identified data already released to the study stays with it: leaving does not recall it.',
    ],
    confirmLabel: 'Leave',
    danger: true,
  });
  if (!yes) return;
  const key = unlockedKey();
  if (key === undefined || address === undefined) return;
  replace(status, message('info', 'Signing the revocation in your browser and sending it…'));
  try {
    for (const g of grants) {
      const revoke = { patient: key.address as Hex, grantId: g.grantId, nonce: await nextNonce(key.address) };
      const signature = await signTypedData({
        privateKey: `0x${toHex(key.privateKey)}`,
        ...createRevokeTypedData(await domain(), revoke),
      });
      await sendJson(
        '/ledger/consent/revocations?wait=true',
        { revoke: { ...revoke, nonce: revoke.nonce.toString() }, signature },
        { fhir: false },
      );
      await waitForLedger(key.address, g.grantId, true);
    }
    await rerender(`You left ${title}. Later releases leave your data out.`);
  } catch (error) {
    replace(status, message('error', `The revocation was not accepted: ${errorText(error)}`));
  }
}
