import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { CareLedgerError } from '../../errors/index.js';
import { matchesSearch } from './matches-search.js';
import { DEFAULT_NEAR_DISTANCE_KM, greatCircleKm, parseNear } from './near-search.js';
import { planSearch } from './plan-search.js';

// The official R4 examples (npm hl7.fhir.r4.examples@4.0.1, CC0).
const require = createRequire(import.meta.url);
const example = (name: string): Resource =>
  JSON.parse(readFileSync(require.resolve(`hl7.fhir.r4.examples/${name}.json`), 'utf8')) as Resource;
const hl7 = example('Location-hl7');
const ukp = example('Location-1');
const transparent = (value: string) => value;

function search(query: string, resource: Resource, handling: 'strict' | 'lenient' = 'strict'): boolean {
  const plan = planSearch('Location', new URLSearchParams(query), transparent, { handling, now: 0 });
  return matchesSearch(resource, plan);
}

describe('near (Location, R4 location.html#search)', () => {
  it('R4 search.html example: near=-83.694810|42.256500|11.20|km finds the HL7 office, not a Location 7,000 km away', () => {
    // Location-hl7 has latitude -83.69471, longitude 42.2565 (the values the R4 example searches for).
    expect(search('near=-83.694810|42.256500|11.20|km', hl7)).toBe(true);
    // Location-1 (Ann Arbor) has latitude 42.25475478, longitude -83.6945691.
    expect(search('near=-83.694810|42.256500|11.20|km', ukp)).toBe(false);
    expect(search('near=42.256500|-83.694810|11.20|km', ukp)).toBe(true);
  });

  it('measures great-circle distance on the mean Earth radius (6,371.0088 km)', () => {
    // One degree along a meridian is 2πR/360; the antipode is πR away.
    expect(greatCircleKm({ latitude: 0, longitude: 0 }, { latitude: 1, longitude: 0 })).toBeCloseTo(
      111.19508,
      4,
    );
    expect(greatCircleKm({ latitude: 0, longitude: 0 }, { latitude: 0, longitude: 180 })).toBeCloseTo(
      20015.1144,
      3,
    );
    // Across the antimeridian: 179.5°E to 179.5°W on the equator is one degree, not 359.
    expect(greatCircleKm({ latitude: 0, longitude: 179.5 }, { latitude: 0, longitude: -179.5 })).toBeCloseTo(
      111.19508,
      4,
    );
  });

  it('reads UCUM length units (km when omitted) and a server default when the distance is omitted', () => {
    expect(parseNear('10|20|1500|m')).toEqual({ latitude: 10, longitude: 20, distanceKm: 1.5 });
    expect(parseNear('10|20|2|[mi_i]')?.distanceKm).toBeCloseTo(3.218688, 9);
    expect(parseNear('10|20|2')).toEqual({ latitude: 10, longitude: 20, distanceKm: 2 });
    expect(parseNear('10|20')).toEqual({ latitude: 10, longitude: 20, distanceKm: DEFAULT_NEAR_DISTANCE_KM });
    // The HL7 office is 0.0001° of latitude (11.1 m) from the searched point: inside 20 m, outside 10 m.
    expect(search('near=-83.694810|42.256500|20|m', hl7)).toBe(true);
    expect(search('near=-83.694810|42.256500|10|m', hl7)).toBe(false);
    // Values are alternatives (OR).
    expect(search('near=0|0|1|km,-83.694810|42.256500|1|km', hl7)).toBe(true);
  });

  it('answers a malformed value with ERR_INVALID_INPUT naming the parameter, in either handling', () => {
    for (const value of ['91|0|1|km', '0|181|1|km', '0|0|-1|km', '0|0|1|furlong', 'a|b', '0', '0|0||km']) {
      for (const handling of ['strict', 'lenient'] as const) {
        const error = (() => {
          try {
            search(`near=${encodeURIComponent(value)}`, hl7, handling);
          } catch (caught) {
            return caught;
          }
          return undefined;
        })();
        expect(error).toBeInstanceOf(CareLedgerError);
        expect((error as CareLedgerError).details).toMatchObject({ parameter: 'near' });
        expect((error as CareLedgerError).message).not.toContain(value);
      }
    }
  });

  it('does not match a Location without a position', () => {
    const { position: _p, ...withoutPosition } = hl7 as Resource & { position?: unknown };
    expect(search('near=-83.694810|42.256500|11.20|km', withoutPosition as Resource)).toBe(false);
  });
});
