import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { isPatientCompartmentType } from '../fhir/compartment/patient-compartments.js';
import { R4_RESOURCE_TYPES } from '../fhir/r4-resource-types.js';
import { DATA_CATEGORIES, type DataCategory } from '../ledger/index.js';
import { categorizeResource } from './categorize-resource.js';
import { RESOURCE_CATEGORIES } from './resource-categories.js';

describe('RESOURCE_CATEGORIES', () => {
  it('has an entry for every R4 resource type, and for nothing else', () => {
    expect(Object.keys(RESOURCE_CATEGORIES).sort()).toEqual([...R4_RESOURCE_TYPES]);
  });

  it('never leaves a type of a patient compartment without a category', () => {
    const uncovered = R4_RESOURCE_TYPES.filter(
      (type) => isPatientCompartmentType(type) && RESOURCE_CATEGORIES[type] === null,
    );
    expect(uncovered).toEqual([]);
    for (const type of R4_RESOURCE_TYPES) {
      if (!isPatientCompartmentType(type) && type !== 'Patient') continue;
      expect(categorizeResource({ resourceType: type } as Resource), type).not.toEqual([]);
    }
  });

  it("agrees with the ledger's list of types per category", () => {
    for (const [category, info] of Object.entries(DATA_CATEGORIES) as [
      DataCategory,
      { fhirResourceTypes: readonly string[] },
    ][]) {
      for (const type of info.fhirResourceTypes) {
        expect([category, 'by-content'], `${type} in ${category}`).toContain(
          RESOURCE_CATEGORIES[type as keyof typeof RESOURCE_CATEGORIES],
        );
      }
    }
  });

  it('categorizes the types the node did not serve before', () => {
    const of = (resourceType: string) => categorizeResource({ resourceType } as Resource);
    expect(of('Claim')).toEqual(['financial']);
    expect(of('Coverage')).toEqual(['financial']);
    expect(of('ServiceRequest')).toEqual(['procedures']);
    expect(of('Specimen')).toEqual(['laboratory']);
    expect(of('Goal')).toEqual(['care-plans']);
    expect(of('FamilyMemberHistory')).toEqual(['conditions']);
    expect(of('QuestionnaireResponse')).toEqual(['clinical-notes']);
    expect(of('MolecularSequence')).toEqual(['genetic']);
    // Directory and definitions: no category (the node's staff rules decide).
    expect(of('Location')).toEqual([]);
    expect(of('Questionnaire')).toEqual([]);
    expect(of('CodeSystem')).toEqual([]);
    // No R4 type, or a prototype key: the widest clinical category, never "no category".
    expect(of('constructor')).toEqual(['clinical-notes']);
    expect(of('NotAType')).toEqual(['clinical-notes']);
  });
});
