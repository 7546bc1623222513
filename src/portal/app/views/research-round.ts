/**
 * A release round on the research member's studies page (issue 18 item 6, decision 0041): the
 * researcher starts the study's release at every member holding data (POST /admin/research/releases,
 * with this node's admin token), watches each member's progress, sees each manifest, and downloads and
 * verifies it here in the browser: every file's SHA-256 against the manifest, the manifest's own hash
 * (SHA-256 of its canonical JSON, RFC 8785 for the values a manifest holds) computed here, and that hash
 * looked up in ResearchRegistry (GET /admin/research/anchors/{study}/{hash}).
 */
import { errorText, getJson, request, sendJson } from '../api.js';
import { h, message, replace } from '../dom.js';
import { toHex, utf8 } from '../verify/bytes.js';
import type { StudyView } from './research-study.js';

interface ManifestFile {
  readonly type: string;
  readonly url: string;
  readonly count: number;
  readonly extension: { readonly sha256: string };
}

interface Manifest {
  readonly output: readonly ManifestFile[];
  readonly error: readonly ManifestFile[];
  readonly extension: {
    readonly counts: Record<string, number | null>;
    readonly consentBlock: string;
    readonly round?: { readonly patients: number; readonly suppressedPatients: number };
  };
}

interface RoundMember {
  readonly address: string;
  readonly name: string;
  readonly state: 'running' | 'done' | 'failed';
  readonly progress?: string;
  readonly manifest?: Manifest;
  readonly manifestHash?: string;
  readonly error?: string;
}

interface Round {
  readonly id: string;
  readonly state: 'running' | 'done' | 'failed';
  readonly members: readonly RoundMember[];
}

/** JSON with object keys sorted at every level (as release-manifest.ts canonicalJson on the node). */
function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
}

async function sha256(bytes: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)));
}

const fileName = (file: ManifestFile) => new URL(file.url).pathname.split('/').at(-1) as string;

/** Starts the round and follows it until every member is done or one failed. */
export async function startRound(study: StudyView, out: HTMLElement, token: string): Promise<void> {
  replace(out, message('info', 'Asking every member that holds data to release the study…'));
  let round: Round;
  try {
    round = await sendJson<Round>(
      '/admin/research/releases',
      { studyId: study.id },
      { bearer: token, fhir: false },
    );
    for (let i = 0; round.state === 'running' && i < 600; i++) {
      replace(out, roundView(study, round, token));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      round = await getJson<Round>(`/admin/research/releases/${round.id}`, { bearer: token });
    }
  } catch (error) {
    replace(out, message('error', `The release was refused: ${errorText(error)}`));
    return;
  }
  replace(out, roundView(study, round, token));
}

function roundView(study: StudyView, round: Round, token: string): HTMLElement {
  const words = {
    running: 'The members are releasing the study’s data; k is decided across all of them.',
    done: 'Every member has released its part, sealed its manifest and anchored it on the ledger.',
    failed: 'A member could not release its part; nothing of this round should be used.',
  };
  return h(
    'div',
    { class: 'card', id: 'release-round', 'data-state': round.state },
    h('h3', {}, 'Release from every member'),
    h('p', { role: 'status' }, words[round.state]),
    h(
      'ul',
      { class: 'round-members' },
      round.members.map((m) =>
        h(
          'li',
          { 'data-member': m.address, 'data-state': m.state },
          h('strong', {}, m.name),
          ': ',
          m.state === 'done'
            ? 'released'
            : m.state === 'failed'
              ? `failed: ${m.error ?? 'no reason given'}`
              : (m.progress ?? 'in progress'),
          m.manifest === undefined ? null : manifestView(study, round, m, token),
        ),
      ),
    ),
  );
}

function manifestView(study: StudyView, round: Round, member: RoundMember, token: string): HTMLElement {
  const manifest = member.manifest as Manifest;
  const counts = manifest.extension.counts;
  const result = h('div', { class: 'verify-out', role: 'status' });
  return h(
    'div',
    { class: 'release-manifest' },
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Manifest hash'),
      h('dd', {}, h('code', { class: 'manifest-hash address' }, member.manifestHash ?? '')),
      h('dt', {}, 'Consent block'),
      h('dd', {}, manifest.extension.consentBlock),
      h('dt', {}, 'Records'),
      h('dd', {}, String(counts.records)),
      h('dt', {}, 'Patients in the files'),
      h('dd', {}, String(counts.contributors)),
      h('dt', {}, 'Left out for k (across members)'),
      h('dd', {}, String(counts.suppressedPatients)),
    ),
    h(
      'ul',
      {},
      manifest.output.map((f) =>
        h(
          'li',
          {},
          `${fileName(f)}: ${f.count} ${f.type}, SHA-256 `,
          // A 64-digit hash breaks anywhere, so it never widens the page on a phone.
          h('code', { class: 'address' }, f.extension.sha256),
        ),
      ),
    ),
    h(
      'button',
      {
        type: 'button',
        class: 'small',
        onclick: () => void downloadAndVerify(study, round, member, token, result),
      },
      `Download and verify ${member.name}’s release`,
    ),
    result,
  );
}

/** Downloads every file, checks its hash, hashes the manifest here and asks the chain for that hash. */
async function downloadAndVerify(
  study: StudyView,
  round: Round,
  member: RoundMember,
  token: string,
  out: HTMLElement,
): Promise<void> {
  const manifest = member.manifest as Manifest;
  replace(out, message('info', 'Downloading and checking each file…'));
  try {
    const links: HTMLElement[] = [];
    for (const file of [...manifest.output, ...manifest.error]) {
      const name = fileName(file);
      const response = await request(`/admin/research/releases/${round.id}/files/${member.address}/${name}`, {
        bearer: token,
        headers: { accept: 'application/fhir+ndjson' },
      });
      const bytes = new Uint8Array(await response.arrayBuffer());
      if ((await sha256(bytes)) !== file.extension.sha256) {
        replace(out, message('error', `Not verified: ${name} does not match its SHA-256 in the manifest.`));
        return;
      }
      const url = URL.createObjectURL(new Blob([bytes], { type: 'application/fhir+ndjson' }));
      links.push(h('li', {}, h('a', { href: url, download: name }, name), ' matches its hash'));
    }
    const hash = `0x${await sha256(utf8.encode(canonicalJson(manifest)))}`;
    const anchored = await getJson<{ member?: string; block?: string; records: number; suppressed: number }>(
      `/admin/research/anchors/${study.id}/${hash}`,
      { bearer: token },
    );
    const manifestUrl = URL.createObjectURL(
      new Blob([JSON.stringify(manifest, null, 2)], { type: 'application/json' }),
    );
    replace(
      out,
      message(
        'ok',
        `Verified: every file matches the manifest, and the manifest ${hash.slice(0, 12)}… is anchored on the ledger${
          anchored.block === undefined ? '' : ` in block ${anchored.block}`
        } by ${member.name} (${anchored.records} records, ${anchored.suppressed} patients left out).`,
      ),
      h(
        'ul',
        { class: 'verified-files' },
        links,
        h('li', {}, h('a', { href: manifestUrl, download: 'manifest.json' }, 'manifest.json')),
      ),
    );
  } catch (error) {
    replace(out, message('error', `Not verified: ${errorText(error)}`));
  }
}
