/** The names the portal shows instead of ids (issue 22), loaded from the ledger's public lists. */
import { getJson } from './api.js';
import { consortiumMembers, type Member, nodeStatus } from './context.js';
import { session } from './session.js';
import { type PersonDirectory, TELEHEALTH_SHARE_AGENT } from './words.js';

/** The names the page shows instead of ids: members and attested practitioners from the ledger. */
export async function loadDirectory(
  members: readonly Member[] | undefined = undefined,
): Promise<PersonDirectory> {
  const status = await nodeStatus();
  const list = members ?? (await consortiumMembers());
  const practitioners = await getJson<{ practitioners: { address: string; organization: string }[] }>(
    '/ledger/practitioners',
  )
    .then((r) => r.practitioners)
    .catch(() => []);
  const self = session()?.fhirUser;
  const names = new Map<string, string>();
  // Reads through the patient's telehealth shares: by the clinician the patient named (decision 0030).
  if (self?.startsWith('Patient/') === true) {
    const { shares } = await getJson<{ shares: { id: string; recipient: string }[] }>('/shares').catch(
      () => ({
        shares: [],
      }),
    );
    for (const share of shares)
      names.set(`${TELEHEALTH_SHARE_AGENT}${share.id}`, `${share.recipient} (telehealth share)`);
  }
  return {
    ...(self === undefined ? {} : { self }),
    names,
    members: new Map(list.map((m) => [m.address.toLowerCase(), m.name])),
    practitioners: new Map(practitioners.map((p) => [p.address.toLowerCase(), p.organization.toLowerCase()])),
    here: status.organization,
  };
}

const LOCAL_PRACTITIONER = /^Practitioner\/(?!0x[0-9a-fA-F]{40}$)[A-Za-z0-9\-.]{1,64}$/;

/**
 * The directory with the personal names of this node's practitioners among `refs` (issue 22: "Dr
 * Meredith Grey", from their Practitioner resources); unchanged when none is known.
 */
export async function withPractitionerNames(
  directory: PersonDirectory,
  refs: Iterable<string | undefined>,
): Promise<PersonDirectory> {
  const wanted = [
    ...new Set([...refs].filter((r): r is string => r !== undefined && LOCAL_PRACTITIONER.test(r))),
  ]
    .filter((r) => directory.names?.has(r) !== true)
    .slice(0, 50);
  if (wanted.length === 0) return directory;
  const query = wanted.map((r) => `ref=${encodeURIComponent(r)}`).join('&');
  const { names } = await getJson<{ names: Record<string, string> }>(
    `/patient-rights/practitioner-names?${query}`,
  ).catch(() => ({ names: {} as Record<string, string> }));
  return { ...directory, names: new Map([...(directory.names ?? []), ...Object.entries(names)]) };
}
