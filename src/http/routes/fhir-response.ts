import type { Resource } from '@medplum/fhirtypes';
import type { Context } from 'hono';
import { CareLedgerError } from '../../errors/index.js';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** A resource as the answer, with its version as ETag and its lastUpdated as Last-Modified (R4 http.html §3.1.0.1). */
export function sendResource(c: Context, resource: Resource, status: 200 | 201 = 200): Response {
  const versionId = resource.meta?.versionId;
  if (versionId !== undefined) c.header('ETag', `W/"${versionId}"`);
  if (resource.meta?.lastUpdated !== undefined)
    c.header('Last-Modified', new Date(resource.meta.lastUpdated).toUTCString());
  return c.body(JSON.stringify(resource), status, { 'Content-Type': FHIR_JSON });
}

/** `If-Match: W/"3"` → "3" (R4 http.html §3.1.0.4.2); undefined when absent; a 400 when malformed. */
export function parseIfMatch(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const match = /^(?:W\/)?"([0-9]+)"$/.exec(value.trim());
  if (match === null)
    throw new CareLedgerError('ERR_INVALID_INPUT', 'If-Match must be an ETag such as W/"1"', {
      details: { parameter: 'If-Match' },
    });
  return match[1];
}
