/** The names the portal shows instead of ids (issue 22), loaded from the ledger's public lists. */
import { getJson } from './api.js';
import { consortiumMembers, type Member, nodeStatus } from './context.js';
import { session } from './session.js';
import type { PersonDirectory } from './words.js';

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
  return {
    ...(self === undefined ? {} : { self }),
    members: new Map(list.map((m) => [m.address.toLowerCase(), m.name])),
    practitioners: new Map(practitioners.map((p) => [p.address.toLowerCase(), p.organization.toLowerCase()])),
    here: status.organization,
  };
}
