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
