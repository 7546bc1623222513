import type { Practitioner } from '@medplum/fhirtypes';
import { practitionerDisplayName } from '../../patient-rights/practitioner-names.js';
import type { FhirRepository } from '../../vault/fhir-repository.js';
import type { NodeBase } from './node-base.js';

/**
 * "Dr Meredith Grey" for `Practitioner/dr-grey` (or the bare id), read from this node's own directory
 * as the node itself, so the read is judged and audited like any other; undefined when the resource
 * is missing, unreadable or has no name (the caller says "a clinician").
 */
export function createPractitionerNameReader(base: NodeBase, repository: FhirRepository) {
  const { account, config } = base;
  return async (reference: string): Promise<string | undefined> => {
    const id = reference.replace(/^Practitioner\//, '');
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) return undefined;
    try {
      const practitioner = (await repository.read('Practitioner', id, {
        who: `Organization/${account.address}`,
        member: account.address,
        organization: config.organization,
        purpose: 'HOPERAT',
      })) as Practitioner;
      return practitionerDisplayName(practitioner);
    } catch {
      return undefined;
    }
  };
}
