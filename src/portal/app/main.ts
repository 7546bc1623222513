/** The portal's entry: finishes a sign-in if this is the SMART redirect, then routes on the URL hash. */
import { errorText, SESSION_ENDED_EVENT, SessionEndedError } from './api.js';
import { fhirBaseUrl, nodeStatus, setUnlockedKey } from './context.js';
import { h, message, replace } from './dom.js';
import { resetMenuToggle, setUpMenuToggle } from './menu-toggle.js';
import { showUnreadCounts } from './nav-counts.js';
import { completeSignIn, isPatient, type Session, session, signOut, startSignIn } from './session.js';
import { renderAccessHistory } from './views/access-history.js';
import { renderAdmin } from './views/admin.js';
import { renderChart } from './views/clinician-chart.js';
import { renderClinicianRequests } from './views/clinician-requests.js';
import { renderPatientSearch } from './views/clinician-search.js';
import { renderConsent } from './views/consent.js';
import { renderCredentialsPractitioners } from './views/credentials-practitioners.js';
import { renderDownloads } from './views/downloads.js';
import { renderGuardian } from './views/guardian.js';
import { renderKey } from './views/key.js';
import { renderMessages } from './views/messages-inbox.js';
import { renderVisits } from './views/messages-requests.js';
import { renderNotifications } from './views/notifications.js';
import { renderRecords } from './views/records.js';
import { renderResearchPatient } from './views/research-patient.js';
import { isStudyStaff, renderResearchStaff } from './views/research-staff.js';
import { renderReview } from './views/review.js';
import { renderRights } from './views/rights-amendments.js';
import { renderShared } from './views/shared-record.js';
import { renderSupplyManufacturer } from './views/supply-manufacturer.js';
import { isSupplyStaff, renderSupplyVerify } from './views/supply-verify.js';
import { renderTelehealth } from './views/telehealth-shares.js';

interface Route {
  readonly path: string;
  readonly label: string;
  readonly render: (main: HTMLElement, param: string) => Promise<void>;
  readonly inNav: (s: Session | undefined) => boolean;
}

const patientOnly = (s: Session | undefined) => isPatient(s);
const staffOnly = (s: Session | undefined) => s !== undefined && !isPatient(s);

const ROUTES: Route[] = [
  { path: 'records', label: 'My records', render: renderRecords, inNav: patientOnly },
  { path: 'consent', label: 'Sharing', render: renderConsent, inNav: patientOnly },
  { path: 'access', label: 'Access history', render: renderAccessHistory, inNav: patientOnly },
  { path: 'downloads', label: 'Downloads', render: renderDownloads, inNav: patientOnly },
  // Issue 18: open studies, joining and leaving, studies that used my data, credits.
  { path: 'research', label: 'Research', render: renderResearchPatient, inNav: patientOnly },
  { path: 'key', label: 'Key and guardians', render: renderKey, inNav: patientOnly },
  { path: 'ward', label: 'Acting for someone', render: renderGuardian, inNav: patientOnly },
  // Issue 22 (decision 0029): messages, visits and refills, HIPAA rights.
  { path: 'messages', label: 'Messages', render: renderMessages, inNav: patientOnly },
  { path: 'visits', label: 'Visits and refills', render: renderVisits, inNav: patientOnly },
  { path: 'rights', label: 'Your rights', render: renderRights, inNav: patientOnly },
  // Decision 0030: the patient's telehealth shares, and the page their link opens (no account needed).
  { path: 'telehealth', label: 'Telehealth shares', render: renderTelehealth, inNav: patientOnly },
  { path: 'shared', label: 'Shared record', render: renderShared, inNav: () => false },
  { path: 'patients', label: 'Patients', render: renderPatientSearch, inNav: staffOnly },
  { path: 'chart', label: 'Chart', render: renderChart, inNav: () => false },
  // Decision 0029: the care team's worklist of amendment and refill requests.
  {
    path: 'requests',
    label: 'Patient requests',
    render: renderClinicianRequests,
    inNav: (s) => s?.roles.includes('clinician') === true,
  },
  {
    path: 'review',
    label: 'Review queue',
    render: renderReview,
    inNav: (s) => s?.roles.includes('privacy-officer') === true,
  },
  {
    path: 'notifications',
    label: 'Notifications',
    render: renderNotifications,
    inNav: (s) => s !== undefined,
  },
  { path: 'admin', label: 'Administration', render: renderAdmin, inNav: isNodeStaff },
  // Issue 21: the node's practitioners with their licence's standing on the ledger.
  { path: 'licences', label: 'Licences', render: renderCredentialsPractitioners, inNav: isNodeStaff },
  // Issue 19 item 8: the supply pages, for the staff of a pharmacy (or a hospital) and of a manufacturer.
  {
    path: 'supply-verify',
    label: 'Check a pack',
    render: renderSupplyVerify,
    inNav: (s) => isSupplyStaff(s, ['pharmacy', 'provider']),
  },
  {
    path: 'supply',
    label: 'Packs and recalls',
    render: renderSupplyManufacturer,
    inNav: (s) => isSupplyStaff(s, ['manufacturer']),
  },
  // Issue 18 item 6: studies for a research member's staff and ethics boards.
  { path: 'studies', label: 'Studies', render: renderResearchStaff, inNav: isStudyStaff },
];

/** Staff who run the node (admin) or oversee it (privacy officer) see the Administration link. */
function isNodeStaff(s: Session | undefined): boolean {
  return !isPatient(s) && (s?.roles.some((r) => r === 'admin' || r === 'privacy-officer') ?? false);
}

/**
 * Pages reachable by their address though not in the menu: a chart (opened from the patient list)
 * and the administration page, where an operator who is not signed in pastes the node's admin token.
 */
const BY_ADDRESS_ONLY = new Set(['chart', 'admin', 'licences', 'studies', 'shared']);

function currentRoute(): { route: Route | undefined; param: string } {
  const [path = '', ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  return { route: ROUTES.find((r) => r.path === path), param: decodeURIComponent(rest.join('/')) };
}

function homePath(s: Session | undefined): string {
  if (s === undefined) return '';
  return isPatient(s) ? 'records' : s.roles.includes('privacy-officer') ? 'review' : 'patients';
}

function renderNav(s: Session | undefined, active: string): void {
  const nav = document.getElementById('nav');
  if (nav === null) return;
  const links = ROUTES.filter((r) => r.inNav(s)).map((r) =>
    h(
      'li',
      {},
      h('a', { href: `#/${r.path}`, 'aria-current': r.path === active ? 'page' : undefined }, r.label),
    ),
  );
  const account =
    s === undefined
      ? h(
          'li',
          {},
          h('button', { type: 'button', class: 'link-button', onclick: () => void signIn() }, 'Sign in'),
        )
      : h(
          'li',
          {},
          h(
            'button',
            {
              type: 'button',
              class: 'link-button',
              onclick: async () => {
                setUnlockedKey(undefined);
                await signOut();
                location.hash = '#/';
                await render();
              },
            },
            'Sign out',
          ),
        );
  replace(nav, h('ul', {}, links, account));
  resetMenuToggle(links.length > 0);
  void showUnreadCounts(nav, s);
}

async function signIn(): Promise<void> {
  await startSignIn(await fhirBaseUrl());
}

async function renderHome(main: HTMLElement, notice?: string): Promise<void> {
  const status = await nodeStatus().catch(() => undefined);
  replace(
    main,
    h('h1', { tabindex: '-1' }, `Welcome to ${status?.organization ?? 'CareLedger'}`),
    notice === undefined ? null : message('error', notice),
    h(
      'p',
      {},
      'See your health records from every member of the consortium, decide who may see them, and check every access to them with a cryptographic proof.',
    ),
    h(
      'p',
      {},
      h(
        'button',
        { type: 'button', class: 'primary', id: 'sign-in', onclick: () => void signIn() },
        'Sign in',
      ),
    ),
    h(
      'p',
      { class: 'hint' },
      'Patients and staff sign in with their username, password and a one-time code from their authenticator app.',
    ),
  );
}

let notice: string | undefined;
/**
 * Set when a request found the session gone; shown on the welcome page until the person signs in
 * again. Not a one-time notice: several requests of one page (the view's, the menu's unread counts)
 * can each find the session gone, and a later render must not drop the request to sign in again.
 */
let sessionEndedNotice: string | undefined;

async function render(): Promise<void> {
  // A fresh <main> per navigation: a page still loading when the person moves on keeps writing into
  // the one it was given, now detached, instead of replacing the page they went to.
  const previous = document.getElementById('main') as HTMLElement;
  const main = previous.cloneNode(false) as HTMLElement;
  previous.replaceWith(main);
  const s = session();
  if (s !== undefined) sessionEndedNotice = undefined;
  let { route, param } = currentRoute();
  if (route === undefined || (!route.inNav(s) && !BY_ADDRESS_ONLY.has(route.path))) {
    const home = homePath(s);
    if (home !== '' && location.hash !== `#/${home}`) {
      location.replace(`#/${home}`);
      return;
    }
    route = undefined;
  }
  if (route?.path === 'chart' && !staffOnly(s)) route = undefined;
  renderNav(s, route?.path ?? '');
  document.title = `${route?.label ?? 'Welcome'} · CareLedger portal`;
  try {
    if (route === undefined) await renderHome(main, notice ?? sessionEndedNotice);
    else await route.render(main, param);
    notice = undefined;
  } catch (error) {
    if (error instanceof SessionEndedError) return;
    replace(main, h('h1', { tabindex: '-1' }, route?.label ?? 'Error'), message('error', errorText(error)));
  }
  // After a navigation, focus goes to the new page's heading (screen readers announce it); on the first
  // load it stays at the top, so the first Tab reaches the skip link.
  if (rendered) main.querySelector<HTMLElement>('h1')?.focus();
  rendered = true;
}

let rendered = false;

async function boot(): Promise<void> {
  setUpMenuToggle();
  document.querySelector('.skip-link')?.addEventListener('click', (event) => {
    event.preventDefault();
    (document.querySelector<HTMLElement>('main h1') ?? document.getElementById('main'))?.focus();
  });
  notice = await completeSignIn();
  const status = await nodeStatus().catch(() => undefined);
  const org = document.getElementById('org');
  if (org !== null && status !== undefined) org.textContent = status.organization;
  window.addEventListener('hashchange', () => void render());
  // A request found the session gone: once the view that made it has finished, show the welcome
  // page with a plain request to sign in again (the session is already cleared).
  window.addEventListener(SESSION_ENDED_EVENT, () => {
    setTimeout(() => {
      setUnlockedKey(undefined);
      sessionEndedNotice = new SessionEndedError().message;
      if (location.hash === '' || location.hash === '#/') void render();
      else location.hash = '#/';
    }, 0);
  });
  await render();
}

void boot();
