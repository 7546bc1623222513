import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyResolvedReferences, resolveConditionalReferences } from './import-references.js';
import { listImportFiles } from './import-sources.js';

const dir = mkdtempSync(join(tmpdir(), 'careledger-import-references-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NPI = 'http://hl7.org/fhir/sid/us-npi';

function ndjson(name: string, resources: object[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${resources.map((r) => JSON.stringify(r)).join('\n')}\n`);
  return path;
}

describe('resolveConditionalReferences', () => {
  const encounters = ndjson('Encounter.ndjson', [
    {
      resourceType: 'Encounter',
      id: 'e1',
      participant: [{ individual: { reference: `Practitioner?identifier=${NPI}|111` } }],
      serviceProvider: { reference: 'Organization?identifier=dup' },
      location: [{ location: { reference: 'Location?identifier=elsewhere|9' } }],
      subject: { reference: 'Patient?name=smith' },
    },
  ]);
  const directory = ndjson('Practitioner.ndjson', [
    { resourceType: 'Practitioner', id: 'p1', identifier: [{ system: NPI, value: '111' }] },
    { resourceType: 'Practitioner', id: 'p2', identifier: [{ system: 'other', value: '111' }] },
    { resourceType: 'Organization', id: 'o1', identifier: [{ system: 'a', value: 'dup' }] },
    { resourceType: 'Organization', id: 'o2', identifier: [{ system: 'b', value: 'dup' }] },
  ]);

  it('finds the one imported resource a reference names, asks the node for the rest, and leaves ambiguous ones', async () => {
    const asked: string[] = [];
    const { files } = listImportFiles([encounters, directory]);
    const resolved = await resolveConditionalReferences(files, async (reference) => {
      asked.push(reference);
      return reference.startsWith('Location?') ? 'stored-location' : undefined;
    });
    expect(Object.fromEntries(resolved)).toEqual({
      // The system decides between p1 and p2.
      [`Practitioner?identifier=${NPI}|111`]: 'Practitioner/p1',
      'Location?identifier=elsewhere|9': 'Location/stored-location',
    });
    // Two imported Organizations carry `dup`: R4 §3.1.0.11.2 makes that an error, so it is not
    // resolved, and the node is not asked either. Any other query goes to the node.
    expect(asked.sort()).toEqual(['Location?identifier=elsewhere|9', 'Patient?name=smith']);

    const encounter = {
      resourceType: 'Encounter',
      participant: [{ individual: { reference: `Practitioner?identifier=${NPI}|111` } }],
      serviceProvider: { reference: 'Organization?identifier=dup' },
      subject: { reference: 'Patient/x' },
    };
    expect(applyResolvedReferences(encounter, resolved)).toEqual({ resolved: 1, unresolved: 1 });
    expect(encounter.participant[0]?.individual.reference).toBe('Practitioner/p1');
    expect(encounter.serviceProvider.reference).toBe('Organization?identifier=dup');
    expect(encounter.subject.reference).toBe('Patient/x');
  });

  it('asks nothing when there is no conditional reference', async () => {
    const { files } = listImportFiles([directory]);
    const resolved = await resolveConditionalReferences(files, async () => {
      throw new Error('not asked');
    });
    expect(resolved.size).toBe(0);
  });
});
