import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OperationOutcomeError, validateResource as validateWithMedplum } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { BULK_DIR } from '../../test/support/shared-data.js';
import { validateResource } from './validate-resource.js';

/**
 * A resource checked against a loaded profile of its own type skips Medplum's base pass (the profile's
 * snapshot holds every base element, at least as strictly). These are the cases that would show a
 * base finding lost: every error Medplum's base validation reports must still be reported, at the
 * same place, for real profiled Synthea resources broken in the ways the base pass catches.
 */

const US_CORE = 'http://hl7.org/fhir/us/core/StructureDefinition';
/** Base findings validate-resource.ts always drops for its own checks (which name the element). */
const REPLACED_BY_OWN_CHECKS = ['Invalid additional property', 'Invalid empty', 'Invalid reference:'];

function baseErrorPlaces(resource: Record<string, unknown>): string[] {
  let issues: OperationOutcomeIssue[];
  try {
    issues = validateWithMedplum(resource as unknown as Resource);
  } catch (error) {
    if (!(error instanceof OperationOutcomeError)) throw error;
    issues = error.outcome.issue ?? [];
  }
  return issues
    .filter((issue) => issue.severity === 'error')
    .filter((issue) => !REPLACED_BY_OWN_CHECKS.some((p) => issue.details?.text?.startsWith(p)))
    .flatMap((issue) => (issue.expression ?? []).map((e) => e.replaceAll('[x]', '')));
}

function errorPlaces(resource: unknown, profiles?: string[]): string[] {
  return validateResource(resource, profiles === undefined ? {} : { profiles })
    .issues.filter((issue) => issue.severity === 'error')
    .flatMap((issue) => issue.expression);
}

function firstOf(type: string, count: number): Record<string, unknown>[] {
  return readFileSync(join(BULK_DIR, `${type}.000.ndjson`), 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .slice(0, count)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const BREAKS: Record<string, (r: Record<string, unknown>) => void> = {
  'a required element removed': (r) => {
    delete r.status;
  },
  'a primitive of the wrong JSON type': (r) => {
    r.status = 7;
  },
  'an element of the wrong shape': (r) => {
    r.subject = 'Patient/1';
  },
  'an unknown element': (r) => {
    r.unknownElement = true;
  },
  'an invalid date': (r) => {
    r.authoredOn = '2020-13-45';
  },
  'a single value where an array belongs': (r) => {
    r.note = { text: 'one' };
  },
  'an empty complex value': (r) => {
    r.note = [{}];
  },
  'an Annotation without its required text': (r) => {
    r.note = [{ authorString: 'x' }];
  },
  'a Coding of the wrong type inside a CodeableConcept': (r) => {
    r.category = [{ coding: 'x' }];
  },
};

describe('validation against a loaded profile of the resource’s own type', () => {
  const requests = firstOf('MedicationRequest', 25);

  it('the Synthea MedicationRequests claim the loaded US Core profile and are valid, as Medplum’s base pass finds too', () => {
    for (const request of requests) {
      expect((request.meta as { profile: string[] }).profile).toContain(
        `${US_CORE}/us-core-medicationrequest`,
      );
      expect(errorPlaces(request)).toEqual([]);
      expect(baseErrorPlaces(request)).toEqual([]);
    }
  });

  for (const [name, breakIt] of Object.entries(BREAKS)) {
    it(`reports every base error for ${name}`, () => {
      for (const request of requests.slice(0, 5)) {
        const broken = structuredClone(request);
        breakIt(broken);
        const base = baseErrorPlaces(broken);
        const found = errorPlaces(broken);
        expect(found.length).toBeGreaterThan(0);
        for (const place of base) expect(found).toContain(place);
        // The same through an explicit profile parameter ($validate?profile=), without the claim.
        const unclaimed = structuredClone(broken);
        delete unclaimed.meta;
        const explicit = errorPlaces(unclaimed, [`${US_CORE}/us-core-medicationrequest`]);
        for (const place of base) expect(explicit).toContain(place);
      }
    });
  }
});
