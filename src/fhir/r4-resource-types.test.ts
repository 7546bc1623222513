import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  deriveR4ResourceTypes,
  GENERATED_FILE,
  renderGeneratedFile,
} from '../../scripts/generate-r4-resource-types.js';
import {
  COMPARTMENT_LISTED_TYPES,
  isStoredResourceType,
  R4_RESOURCE_TYPES,
  STORED_RESOURCE_TYPES,
} from './r4-resource-types.js';

describe('R4 resource types', () => {
  it('are generated from the R4 StructureDefinitions, and the generated file is not stale', () => {
    expect(readFileSync(GENERATED_FILE, 'utf8')).toBe(renderGeneratedFile());
    expect([...R4_RESOURCE_TYPES]).toEqual(deriveR4ResourceTypes());
  });

  it('are the 146 concrete R4 types: no abstract one, no R4B one', () => {
    expect(R4_RESOURCE_TYPES).toHaveLength(146);
    for (const notR4 of ['Resource', 'DomainResource', 'SubscriptionStatus', 'Bot', 'Project'])
      expect(R4_RESOURCE_TYPES).not.toContain(notR4);
    // The Patient CompartmentDefinition lists every type with a RESTful endpoint: all but Parameters.
    expect(
      R4_RESOURCE_TYPES.filter((t) => !(COMPARTMENT_LISTED_TYPES as readonly string[]).includes(t)),
    ).toEqual(['Parameters']);
  });

  it('stores all of them but Parameters and OperationOutcome: 144', () => {
    expect(STORED_RESOURCE_TYPES).toHaveLength(144);
    expect(R4_RESOURCE_TYPES.filter((t) => !isStoredResourceType(t))).toEqual([
      'OperationOutcome',
      'Parameters',
    ]);
    for (const kept of ['Bundle', 'Binary', 'Claim', 'Coverage', 'Questionnaire', 'AuditEvent'])
      expect(isStoredResourceType(kept)).toBe(true);
    expect(isStoredResourceType('toString')).toBe(false);
  });
});
