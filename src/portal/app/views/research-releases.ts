/**
 * A study's releases on the studies page: kick one off at this node (the bulk-data style $export of
 * src/research/release, as the signed-in user), its manifest once sealed, and each anchored release
 * checked against ResearchRegistry as the node reads it (GET /research/studies/{id}/releases/{hash}).
 */
import { errorText, getJson, request } from '../api.js';
import { type Member, memberName } from '../context.js';
import { h, message, replace } from '../dom.js';
import type { StudyRelease, StudyView } from './research-study.js';

interface Manifest {
  readonly output?: readonly { type: string; url: string; count?: number; extension?: { sha256?: string } }[];
  readonly extension?: {
    manifestHash?: string;
    counts?: Record<string, number>;
    consentBlock?: string;
    anchor?: Record<string, unknown>;
  };
}

/** POST $export (Prefer: respond-async) as the signed-in user, then polls the status until the manifest. */
export async function kickOff(study: StudyView, out: HTMLElement): Promise<void> {
  replace(out, message('info', 'Asking this node to release the study’s data…'));
  try {
    const kicked = await request(`/research/studies/${study.id}/$export`, {
      method: 'POST',
      headers: { prefer: 'respond-async', 'x-careledger-purpose': 'HRESCH' },
    });
    const location = new URL(kicked.headers.get('content-location') ?? '', window.location.href).pathname;
    for (let i = 0; i < 240; i++) {
      const polled = await request(location);
      if (polled.status === 200) {
        const manifest = (await polled.json()) as Manifest;
        replace(out, manifestView(manifest));
        return;
      }
      replace(out, message('info', `Releasing: ${polled.headers.get('x-progress') ?? 'in progress'}…`));
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    replace(out, message('error', 'The release is still running; look again later.'));
  } catch (error) {
    replace(out, message('error', `The release was refused: ${errorText(error)}`));
  }
}

function manifestView(manifest: Manifest): HTMLElement {
  const counts = manifest.extension?.counts ?? {};
  return h(
    'div',
    { class: 'card', id: 'release-manifest' },
    h('h3', {}, 'Release manifest'),
    message('ok', 'The release is sealed and its manifest anchored on the ledger.'),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Manifest hash'),
      h('dd', {}, h('code', { class: 'address' }, manifest.extension?.manifestHash ?? 'not given')),
      h('dt', {}, 'Consent block'),
      h('dd', {}, String(manifest.extension?.consentBlock ?? '')),
      Object.entries(counts).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]),
    ),
    h(
      'ul',
      {},
      (manifest.output ?? []).map((f) =>
        h(
          'li',
          {},
          `${f.type}: ${f.count ?? '?'} records, SHA-256 `,
          h('code', { class: 'address' }, f.extension?.sha256 ?? 'not given'),
        ),
      ),
    ),
  );
}

export function releasesTable(study: StudyView, members: readonly Member[]): HTMLElement | null {
  if (study.releases.length === 0) return h('p', { class: 'meta' }, 'No release anchored yet.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'stack releases' },
      h('caption', {}, 'Releases anchored on the ledger'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Member', 'Records', 'Left out (k)', 'Patients', 'Manifest', 'Check'].map((x) =>
            h('th', { scope: 'col' }, x),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        study.releases.map((r) => {
          const result = h('span', { role: 'status' });
          return h(
            'tr',
            {},
            h('td', { 'data-label': 'Member' }, memberName(r.member, members)),
            h('td', { 'data-label': 'Records' }, String(r.records)),
            h('td', { 'data-label': 'Left out (k)' }, String(r.suppressed)),
            h('td', { 'data-label': 'Patients' }, String(r.contributors)),
            h('td', { 'data-label': 'Manifest' }, h('code', {}, `${r.manifestHash.slice(0, 10)}…`)),
            h(
              'td',
              { 'data-label': 'Check' },
              h(
                'button',
                { type: 'button', class: 'small', onclick: () => void verifyRelease(study, r, result) },
                'Check against the chain',
              ),
              ' ',
              result,
            ),
          );
        }),
      ),
    ),
  );
}

/** The anchor as the contract holds it (read by the node from ResearchRegistry) against the index. */
async function verifyRelease(study: StudyView, release: StudyRelease, out: HTMLElement): Promise<void> {
  out.textContent = 'Checking…';
  try {
    const onChain = await getJson<{
      records: number;
      suppressed: number;
      consentBlock: string;
      profileHash: string;
    }>(`/research/studies/${study.id}/releases/${release.manifestHash}`);
    const same =
      onChain.records === release.records &&
      onChain.suppressed === release.suppressed &&
      onChain.consentBlock === release.consentBlock &&
      onChain.profileHash.toLowerCase() === study.profileHash.toLowerCase();
    out.textContent = same
      ? `Anchored on chain: ${onChain.records} records, ${onChain.suppressed} left out, consent block ${onChain.consentBlock}, the study’s profile.`
      : 'The chain’s anchor differs from this node’s index.';
  } catch (error) {
    out.textContent = `Not verified: ${errorText(error)}`;
  }
}
