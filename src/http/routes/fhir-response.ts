import type { Resource } from '@medplum/fhirtypes';
import type { Context } from 'hono';
import { CareLedgerError } from '../../errors/index.js';
import { completeFhirJsonAnswer } from '../middleware/answer-headers/index.js';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** A resource as the answer, with its version as ETag and its lastUpdated as Last-Modified (R4 http.html §3.1.0.1). */
export function sendResource(c: Context, resource: Resource, status: 200 | 201 = 200): Response {
  const versionId = resource.meta?.versionId;
  if (versionId !== undefined) c.header('ETag', `W/"${versionId}"`);
  if (resource.meta?.lastUpdated !== undefined)
    c.header('Last-Modified', new Date(resource.meta.lastUpdated).toUTCString());
  return c.body(JSON.stringify(resource), status, { 'Content-Type': FHIR_JSON });
}

/**
 * As `sendResource` with status 200, for a handler that sets no header of its own (read, vread):
 * when the middlewares prepared their headers for this request, the answer is built complete with
 * them in one plain object (decision 0053), with the same headers and values.
 */
export function sendReadResource(c: Context, resource: Resource): Response {
  const versionId = resource.meta?.versionId;
  const lastUpdated = resource.meta?.lastUpdated;
  return (
    completeFhirJsonAnswer(
      c,
      JSON.stringify(resource),
      versionId === undefined ? undefined : `W/"${versionId}"`,
      lastUpdated === undefined ? undefined : new Date(lastUpdated).toUTCString(),
    ) ?? sendResource(c, resource)
  );
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
