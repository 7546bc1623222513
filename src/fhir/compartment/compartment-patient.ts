import type { Resource } from '@medplum/fhirtypes';
import { CareLedgerError } from '../../errors/index.js';
import { NODE_KEY_PATIENT_ID } from '../../vault/data-key-store.js';
import type { FhirIssue } from '../fhir-issue.js';
import { patientCompartmentsOf } from './patient-compartments.js';

/**
 * The one patient whose data key seals a resource and whose access history records it, or
 * NODE_KEY_PATIENT_ID ('') for a resource in no patient's compartment (Organization, Practitioner,
 * CodeSystem, …), which is sealed under the node's key and judged by the node's staff rules.
 *
 * The compartment is the R4 Patient CompartmentDefinition's (see patientCompartmentsOf). A resource
 * in several patients' compartments (an Observation whose performer is another patient, a Coverage
 * held by a parent) belongs to the first patient found: parameters in definition order (Coverage's
 * beneficiary first), references in document order. Exceptions, each on purpose:
 * - AuditEvent: the patient entity (IHE BALP: `entity.role` 1) is the patient whose access history it
 *   is; the vault still seals AuditEvents under the node key, so erasure keeps who-accessed-what.
 * - Group: a list of patients is not one patient's record; sealing it under one member's key would
 *   show that member the others and make the group unreadable once that member is erased. Node key.
 * - Bundle: a stored Bundle (a document, a collection) holds one patient's records or none; one that
 *   holds several patients' is refused (ERR_INVALID_INPUT), since one key and one consent cover it.
 */
export function compartmentPatient(resource: Resource): string {
  switch (resource.resourceType) {
    case 'Group':
      return NODE_KEY_PATIENT_ID;
    case 'AuditEvent': {
      const patient = resource.entity?.find((e) => e.role?.code === '1')?.what?.reference;
      if (patient?.startsWith('Patient/')) return patient.slice('Patient/'.length);
      break;
    }
    case 'Bundle': {
      const patients = patientCompartmentsOf(resource);
      if (patients.length > 1) {
        const diagnostics =
          'a stored Bundle may hold the records of one patient only (one data key and one consent cover it)';
        const issue: FhirIssue = {
          severity: 'error',
          code: 'business-rule',
          diagnostics,
          expression: ['Bundle.entry'],
        };
        throw new CareLedgerError('ERR_INVALID_INPUT', diagnostics, { details: { issues: [issue] } });
      }
      return patients[0] ?? NODE_KEY_PATIENT_ID;
    }
    default:
      break;
  }
  return patientCompartmentsOf(resource)[0] ?? NODE_KEY_PATIENT_ID;
}
