/**
 * The default profile: HIPAA Safe Harbor, 45 CFR 164.514(b)(2)(i)(A)-(R).
 *
 * Choices (docs/decisions/0020-research-deidentification.md):
 * - Dates keep their year only (keepYear), rather than a per-patient shift: the rule permits the
 *   year, and a year is not linkable across studies. `dateShift` remains available to profiles
 *   under Expert Determination.
 * - Birth dates keep the year, except ages over 89, which become the "90 or older" group.
 * - Addresses keep state and country; the postal code keeps its first 3 digits, or 000 in the
 *   restricted 3-digit zones (see {@link SAFE_HARBOR_RESTRICTED_ZIP3}).
 * - Identifiers, resource ids and references become keyed pseudonyms (HMAC-SHA-256, key per study).
 * - Free text is removed, not scrubbed.
 */
import type { DeidProfile } from './deid-profile.js';
import { parseDeidProfile } from './parse-deid-profile.js';

/**
 * 3-digit ZIP prefixes whose geographic unit held 20,000 people or fewer in the 2000 Census; Safe
 * Harbor requires 000 for them (45 CFR 164.514(b)(2)(i)(B)(2)). List from HHS, "Guidance Regarding
 * Methods for De-identification of PHI", §3.5 (2012).
 */
export const SAFE_HARBOR_RESTRICTED_ZIP3: readonly string[] = [
  '036',
  '059',
  '063',
  '102',
  '203',
  '556',
  '692',
  '790',
  '821',
  '823',
  '830',
  '831',
  '878',
  '879',
  '884',
  '890',
  '893',
];

export const SAFE_HARBOR_PROFILE_JSON = {
  name: 'careledger-safe-harbor-v1',
  keepExtensions: [
    'http://hl7.org/fhir/us/core/StructureDefinition/us-core-race',
    'http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity',
    'http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex',
  ],
  quasiIdentifiers: [],
  fhirPathRules: [
    // Element rules first: they must win over the type-wide rules below.
    { path: 'Patient.birthDate', method: 'generalize' },
    { path: 'Location.position', method: 'redact' },
    { path: 'Location.name', method: 'redact' },
    { path: 'Location.alias', method: 'redact' },
    { path: 'Coverage.subscriberId', method: 'cryptoHash' },
    { path: 'Device.udiCarrier', method: 'redact' },
    { path: 'Device.serialNumber', method: 'cryptoHash' },
    { path: 'Device.lotNumber', method: 'cryptoHash' },
    { path: 'Device.distinctIdentifier', method: 'cryptoHash' },
    { path: 'Endpoint.address', method: 'redact' },
    { path: 'AuditEvent.agent.network', method: 'redact' },
    { path: 'AuditEvent.source.site', method: 'redact' },
    { path: 'Observation.valueString', method: 'redact' },
    { path: 'Resource.description', method: 'redact' },
    { path: 'Resource.comment', method: 'redact' },
    { path: "nodesByType('HumanName')", method: 'redact' },
    { path: "nodesByType('Address')", method: 'generalize' },
    { path: "nodesByType('ContactPoint')", method: 'redact' },
    { path: "nodesByType('Identifier')", method: 'cryptoHash' },
    { path: "nodesByType('Reference')", method: 'cryptoHash' },
    { path: "nodesByType('id')", method: 'cryptoHash' },
    { path: "nodesByType('Attachment')", method: 'redact' },
    { path: "nodesByType('Narrative')", method: 'redact' },
    { path: "nodesByType('Annotation')", method: 'redact' },
    { path: "nodesByType('FreeText')", method: 'redact' },
    { path: "nodesByType('Extension')", method: 'redact' },
    { path: "nodesByType('Age')", method: 'generalize' },
    { path: "nodesByType('date')", method: 'keepYear' },
    { path: "nodesByType('dateTime')", method: 'keepYear' },
    { path: "nodesByType('instant')", method: 'keepYear' },
  ],
} as const;

export const SAFE_HARBOR_PROFILE: DeidProfile = parseDeidProfile(SAFE_HARBOR_PROFILE_JSON);
