import type { Resource } from '@medplum/fhirtypes';
import { splitEscaped } from './search-value-syntax.js';

/**
 * The `near` parameter of Location (R4 location.html#search, search.html §3.1.1.5.x special
 * parameters): `near=latitude|longitude|distance|units`, WGS84 degrees, matching a Location whose
 * `position` lies within `distance` of the point along the Earth's surface (great circle).
 */
export interface NearQuery {
  readonly latitude: number;
  readonly longitude: number;
  readonly distanceKm: number;
}

/**
 * R4: "If the distance is omitted, then the server can use its own discretion as to what distances
 * should be considered near". Here: 10 km.
 */
export const DEFAULT_NEAR_DISTANCE_KM = 10;

/**
 * R4: "If the units are omitted, then kms should be assumed"; units are UCUM codes. Lengths in km.
 * International mile and nautical mile as UCUM defines them ([mi_i] = 5280 [ft_i], [nmi_i] = 1852 m).
 */
const UNITS_KM: Readonly<Record<string, number>> = {
  km: 1,
  m: 0.001,
  '[mi_i]': 1.609344,
  '[mi_us]': 1.609347218694437,
  '[nmi_i]': 1.852,
};

/** The mean Earth radius R1 of the IUGG (Moritz, Geodetic Reference System 1980), km. */
const EARTH_RADIUS_KM = 6371.0088;

const DECIMAL = /^[-+]?(?:\d+\.?\d*|\.\d+)$/;

/**
 * One `near` value as a query; undefined when it is malformed (a latitude outside ±90, a longitude
 * outside ±180, a negative distance, units that are not a UCUM length this server knows).
 */
export function parseNear(value: string): NearQuery | undefined {
  const parts = value.split('|');
  if (parts.length < 2 || parts.length > 4) return undefined;
  const [latitudeText = '', longitudeText = '', distanceText = '', unitsText = ''] = parts;
  if (!DECIMAL.test(latitudeText) || !DECIMAL.test(longitudeText)) return undefined;
  const latitude = Number(latitudeText);
  const longitude = Number(longitudeText);
  if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return undefined;
  if (distanceText === '') {
    return unitsText === '' ? { latitude, longitude, distanceKm: DEFAULT_NEAR_DISTANCE_KM } : undefined;
  }
  if (!DECIMAL.test(distanceText)) return undefined;
  const distance = Number(distanceText);
  const perUnit = UNITS_KM[unitsText === '' ? 'km' : unitsText];
  if (distance < 0 || perUnit === undefined) return undefined;
  return { latitude, longitude, distanceKm: distance * perUnit };
}

/** The values of a `near` parameter (comma-separated alternatives, R4 §3.1.1.3), each parsed. */
export function parseNearValues(value: string): NearQuery[] | undefined {
  const queries = splitEscaped(value, ',').map(parseNear);
  return queries.every((q) => q !== undefined) ? (queries as NearQuery[]) : undefined;
}

/** Great-circle distance in km between two WGS84 points on a sphere of the mean Earth radius (haversine). */
export function greatCircleKm(
  a: { readonly latitude: number; readonly longitude: number },
  b: { readonly latitude: number; readonly longitude: number },
): number {
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLon = (b.longitude - a.longitude) * rad;
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Whether a Location's `position` is within any of the queries' distances; false without a position. */
export function matchesNear(resource: Resource, value: string): boolean {
  if (resource.resourceType !== 'Location') return false;
  const position = resource.position;
  if (typeof position?.latitude !== 'number' || typeof position.longitude !== 'number') return false;
  const queries = parseNearValues(value) ?? [];
  // A tiny tolerance, so a point at exactly the distance matches despite floating-point rounding.
  return queries.some((query) => greatCircleKm(query, position as NearQuery) <= query.distanceKm + 1e-9);
}
