import type { Resource } from '@medplum/fhirtypes';
import type { Context } from 'hono';
import { CareLedgerError } from '../../errors/index.js';
import type { SearchSummary } from '../../fhir/search/plan-search.js';
import { selectElements, summarizeResource } from '../../fhir/search/subset-resource.js';

const SUMMARIES: ReadonlySet<string> = new Set(['true', 'text', 'data', 'false']);

function invalid(parameter: string, message: string): CareLedgerError {
  return new CareLedgerError('ERR_INVALID_INPUT', message, { details: { parameter } });
}

/**
 * `_summary` and `_elements` on a read or vread (R4 search.html §3.1.1.5.8–9 apply to read as well;
 * `count` is for searches only). Undefined when the request asks for the whole resource.
 */
export function readSubsetOf(c: Context): ((resource: Resource) => Resource) | undefined {
  const summaries = c.req.queries('_summary') ?? [];
  const elements = (c.req.queries('_elements') ?? []).flatMap((v) => v.split(',').map((n) => n.trim()));
  if (summaries.length > 1) throw invalid('_summary', '_summary may be given once');
  const summary = summaries[0];
  if (summary !== undefined && !SUMMARIES.has(summary))
    throw invalid('_summary', '_summary on a read is true, text, data or false');
  if (elements.some((name) => !/^[a-z][A-Za-z0-9]*$/.test(name)))
    throw invalid('_elements', '_elements expects element names separated by commas');
  if (elements.length > 0) return (resource) => selectElements(resource, elements);
  if (summary === undefined || summary === 'false') return undefined;
  return (resource) => summarizeResource(resource, summary as SearchSummary);
}
