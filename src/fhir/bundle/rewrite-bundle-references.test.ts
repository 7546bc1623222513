import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SYNTHEA_DIR } from '../../../test/support/shared-data.js';
import { isFhirId, rewriteBundleReferences } from './index.js';

const P = 'urn:uuid:9afe28dc-7ad5-4e90-b6a6-16123eae98c3';
const E = 'urn:uuid:0b7c1c5e-3d1f-4a8b-9c2e-5f6a7b8c9d0e';

const bundle = {
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    {
      fullUrl: P,
      resource: { resourceType: 'Patient', id: 'ignored-id', birthDate: '1970-01-01' },
      request: { method: 'POST', url: 'Patient' },
    },
    {
      fullUrl: E,
      resource: { resourceType: 'Encounter', subject: { reference: P } },
      request: { method: 'POST', url: 'Encounter' },
    },
    {
      fullUrl: 'urn:uuid:obs-1',
      resource: {
        resourceType: 'Observation',
        subject: { reference: P, display: 'x' },
        encounter: { reference: E },
        performer: [{ reference: 'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999974493' }],
        extension: [{ url: 'http://example.org/x', valueReference: { reference: P } }],
        contained: [{ resourceType: 'Provenance', target: [{ reference: E }] }],
        hasMember: [{ reference: '#local' }, { reference: 'urn:uuid:not-in-this-bundle' }],
      },
      request: { method: 'POST', url: 'Observation' },
    },
  ],
};

describe('rewriteBundleReferences', () => {
  it('gives an entry whose id is taken a fresh one, and points the references at it', () => {
    const result = rewriteBundleReferences(
      bundle,
      () => 'fresh-id',
      new Set(['Patient/9afe28dc-7ad5-4e90-b6a6-16123eae98c3']),
    );
    expect(result.entries[0]?.id).toBe('fresh-id');
    const observation = result.entries[1]?.resource as { subject: { reference: string } } | undefined;
    expect(observation?.subject.reference).toBe('Patient/fresh-id');
    expect(result.entries[1]?.id).toBe('0b7c1c5e-3d1f-4a8b-9c2e-5f6a7b8c9d0e');
  });

  it('gives each entry the id of its urn:uuid fullUrl and rewrites every reference to Type/id', () => {
    const result = rewriteBundleReferences(bundle);
    const [patient, encounter, observation] = result.entries;
    expect(patient).toMatchObject({
      index: 0,
      resourceType: 'Patient',
      id: '9afe28dc-7ad5-4e90-b6a6-16123eae98c3',
    });
    expect(patient?.resource.id).toBe('9afe28dc-7ad5-4e90-b6a6-16123eae98c3');
    expect(encounter?.resource).toEqual({
      resourceType: 'Encounter',
      subject: { reference: 'Patient/9afe28dc-7ad5-4e90-b6a6-16123eae98c3' },
      id: '0b7c1c5e-3d1f-4a8b-9c2e-5f6a7b8c9d0e',
    });
    expect(observation?.id).toBe('obs-1');
    expect(observation?.resource).toMatchObject({
      subject: { reference: 'Patient/9afe28dc-7ad5-4e90-b6a6-16123eae98c3', display: 'x' },
      encounter: { reference: 'Encounter/0b7c1c5e-3d1f-4a8b-9c2e-5f6a7b8c9d0e' },
      extension: [{ valueReference: { reference: 'Patient/9afe28dc-7ad5-4e90-b6a6-16123eae98c3' } }],
      contained: [{ target: [{ reference: 'Encounter/0b7c1c5e-3d1f-4a8b-9c2e-5f6a7b8c9d0e' }] }],
      hasMember: [{ reference: '#local' }, { reference: 'urn:uuid:not-in-this-bundle' }],
    });
  });

  it('leaves conditional references and foreign URNs as they are, and lists where they are', () => {
    const result = rewriteBundleReferences(bundle);
    expect(result.conditionalReferences).toEqual([
      {
        index: 2,
        path: 'Observation.performer[0].reference',
        reference: 'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999974493',
      },
    ]);
    expect(result.unresolvedReferences).toEqual([
      { index: 2, path: 'Observation.hasMember[1].reference', reference: 'urn:uuid:not-in-this-bundle' },
    ]);
    expect(result.entries[2]?.resource.performer).toEqual([
      { reference: 'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999974493' },
    ]);
  });

  it('does not modify its input', () => {
    const before = JSON.stringify(bundle);
    rewriteBundleReferences(bundle);
    expect(JSON.stringify(bundle)).toBe(before);
  });

  it('derives a stable valid id when the fullUrl holds none, and rewrites references to it', () => {
    const fullUrl = `urn:uuid:${'x'.repeat(70)}`;
    const input = {
      entry: [
        { fullUrl, resource: { resourceType: 'Patient' } },
        { fullUrl: 'urn:uuid:o', resource: { resourceType: 'Observation', subject: { reference: fullUrl } } },
      ],
    };
    const first = rewriteBundleReferences(input);
    const again = rewriteBundleReferences(input);
    const id = first.entries[0]?.id;
    expect(isFhirId(id)).toBe(true);
    expect(again.entries[0]?.id).toBe(id);
    expect(first.entries[1]?.resource.subject).toEqual({ reference: `Patient/${id}` });
  });

  it('gives an entry with neither fullUrl nor id a new id, never one every Bundle would share', () => {
    const bundleOf = () => ({ entry: [{ resource: { resourceType: 'Observation', status: 'final' } }] });
    const first = rewriteBundleReferences(bundleOf());
    const second = rewriteBundleReferences(bundleOf());
    expect(isFhirId(first.entries[0]?.id)).toBe(true);
    expect(second.entries[0]?.id).not.toBe(first.entries[0]?.id);
    let n = 0;
    const twins = rewriteBundleReferences(
      {
        entry: [{ resource: { resourceType: 'Observation' } }, { resource: { resourceType: 'Observation' } }],
      },
      () => `fixed-${n++}`,
    );
    expect(twins.entries.map((e) => e.id)).toEqual(['fixed-0', 'fixed-1']);
  });

  it('keeps a valid resource id when the fullUrl is missing, and reports entries with no resource', () => {
    const result = rewriteBundleReferences({
      entry: [
        { resource: { resourceType: 'Patient', id: 'p1' } },
        { request: { method: 'DELETE', url: 'Patient/p2' } },
        { resource: { id: 'no-type' } },
      ],
    });
    expect(result.entries.map((e) => `${e.resourceType}/${e.id}`)).toEqual(['Patient/p1']);
    expect(result.unusable).toEqual([
      { index: 1, reason: 'no-resource' },
      { index: 2, reason: 'no-resource-type' },
    ]);
  });

  it('never gives two entries of one type the same id', () => {
    const result = rewriteBundleReferences({
      entry: [
        { fullUrl: 'urn:uuid:a', resource: { resourceType: 'Patient' } },
        { fullUrl: 'http://example.org/fhir/Patient/a', resource: { resourceType: 'Patient' } },
      ],
    });
    const ids = result.entries.map((e) => e.id);
    expect(new Set(ids).size).toBe(2);
    expect(ids.every(isFhirId)).toBe(true);
  });

  // The shared test data (see its SOURCE.md) is outside the repository.
  const synthea = SYNTHEA_DIR;
  it('leaves no bundle-local reference in Synthea sample bundles', () => {
    const dir = synthea;
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    for (const file of files.slice(0, 3)) {
      const input = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { entry: unknown[] };
      const result = rewriteBundleReferences(input);
      expect(result.entries).toHaveLength(input.entry.length);
      expect(JSON.stringify(result.entries.map((e) => e.resource))).not.toContain('"urn:uuid:');
      expect(result.unresolvedReferences).toEqual([]);
    }
  });
});
