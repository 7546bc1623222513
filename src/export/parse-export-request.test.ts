import { describe, expect, it } from 'vitest';
import { parametersToPairs, parseExportRequest, splitTypeFilter } from './parse-export-request.js';

const served = new Set(['Patient', 'Observation', 'MedicationRequest']);
const options = { isServedType: (t: string) => served.has(t), checkQuery: () => undefined, lenient: false };

function parameterOf(task: () => unknown): unknown {
  try {
    task();
  } catch (error) {
    return (error as { details?: { parameter?: string } }).details?.parameter;
  }
  return undefined;
}

describe('parseExportRequest', () => {
  it('splits _typeFilter queries at a comma before the next Type?, not at an "or" comma', () => {
    expect(splitTypeFilter('Observation?code=a,b,MedicationRequest?status=active')).toEqual([
      'Observation?code=a,b',
      'MedicationRequest?status=active',
    ]);
  });

  it('reads the kick-off parameters of a GET and of a POST Parameters body alike', () => {
    const pairs = parametersToPairs({
      resourceType: 'Parameters',
      parameter: [
        { name: '_type', valueString: 'Patient,Observation' },
        { name: '_since', valueInstant: '2026-01-01T00:00:00+02:00' },
        { name: '_typeFilter', valueString: 'Observation?status=final' },
        { name: 'patient', valueReference: { reference: 'Patient/p-1' } },
      ],
    });
    const request = parseExportRequest({ kind: 'patient' }, pairs, options);
    expect(request).toEqual({
      level: { kind: 'patient' },
      types: ['Patient', 'Observation'],
      since: '2025-12-31T22:00:00.000Z',
      typeFilters: { Observation: ['status=final'] },
      patients: ['p-1'],
      ignored: [],
    });
  });

  it('names the parameter it refuses, and ignores what it cannot honour only when lenient', () => {
    const system = { kind: 'system' } as const;
    expect(parameterOf(() => parseExportRequest(system, [['_type', 'Nope']], options))).toBe('_type');
    expect(parameterOf(() => parseExportRequest(system, [['_since', '2026-01-01']], options))).toBe('_since');
    expect(parameterOf(() => parseExportRequest(system, [['_typeFilter', 'status=final']], options))).toBe(
      '_typeFilter',
    );
    expect(parameterOf(() => parseExportRequest(system, [['patient', 'Patient/p-1']], options))).toBe(
      'patient',
    );
    expect(parameterOf(() => parseExportRequest(system, [['includeAssociatedData', 'x']], options))).toBe(
      'includeAssociatedData',
    );
    const lenient = parseExportRequest(
      system,
      [
        ['_type', 'Patient,Nope'],
        ['_elements', 'id'],
      ],
      { ...options, lenient: true },
    );
    expect(lenient.types).toEqual(['Patient']);
    expect(lenient.ignored).toEqual(['_type=Nope', '_elements']);
  });
});
