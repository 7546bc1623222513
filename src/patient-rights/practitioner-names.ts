/**
 * Practitioners' personal names for the people a patient reads about (issue 22: "Dr Meredith Grey" in
 * the access history and messages, not an account id). A clinician's account is linked to its
 * Practitioner resource by the account's `fhirUser` (`Practitioner/dr-grey`); the resource holds the
 * name. Only this node's own practitioners (ids, not ledger addresses) and only the name are answered.
 */
import type { HumanName, Practitioner } from '@medplum/fhirtypes';

/** How many references one request may ask about. */
export const MAX_NAMES = 50;
const LOCAL_PRACTITIONER = /^Practitioner\/([A-Za-z0-9\-.]{1,64})$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** "Dr Meredith Grey": the official (else first) name, prefix, given names and family; undefined if none. */
export function practitionerDisplayName(practitioner: Pick<Practitioner, 'name'>): string | undefined {
  const names = practitioner.name ?? [];
  const n: HumanName | undefined = names.find((x) => x.use === 'official') ?? names[0];
  if (n === undefined) return undefined;
  if (n.text !== undefined && n.text.trim() !== '') return n.text.trim();
  const words = [...(n.prefix ?? []), ...(n.given ?? []), n.family ?? '']
    .map((w) => w.trim())
    .filter(Boolean);
  return words.length === 0 ? undefined : words.join(' ');
}

/** The local practitioner ids among `refs` (at most MAX_NAMES, duplicates and others dropped). */
export function parsePractitionerRefs(refs: readonly string[]): string[] {
  const ids = refs.flatMap((ref) => {
    const id = LOCAL_PRACTITIONER.exec(ref)?.[1];
    return id === undefined || ADDRESS.test(id) ? [] : [id];
  });
  return [...new Set(ids)].slice(0, MAX_NAMES);
}

/** `{ "Practitioner/dr-grey": "Dr Meredith Grey" }` for the ids whose resource has a name. */
export async function practitionerNames(
  ids: readonly string[],
  nameOf: (id: string) => Promise<string | undefined>,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const id of ids) {
    const name = await nameOf(id).catch(() => undefined);
    if (name !== undefined) out[`Practitioner/${id}`] = name;
  }
  return out;
}
