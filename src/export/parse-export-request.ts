import type { Parameters } from '@medplum/fhirtypes';
import { CareLedgerError } from '../errors/index.js';
import type { ExportLevel, ExportRequest } from './export-job.js';

/** Bulk Data v2 `_outputFormat` values for NDJSON (export.html#query-parameters); the first is answered. */
export const NDJSON_FORMATS = ['application/fhir+ndjson', 'application/ndjson', 'ndjson'] as const;

/** Search parameters that shape a result page rather than choose resources: meaningless in a `_typeFilter`. */
const RESULT_PARAMETERS = new Set([
  '_count',
  '_offset',
  '_sort',
  '_include',
  '_revinclude',
  '_summary',
  '_elements',
  '_total',
  '_contained',
  '_containedType',
  '_format',
  '_pretty',
]);

/** Kick-off parameters of the spec this node does not honour: refused, or ignored under handling=lenient. */
const UNSUPPORTED_PARAMETERS = new Set(['_elements', 'includeAssociatedData', 'organizeOutputBy']);

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
// FHIR R4 instant (datatypes.html#instant): a time with seconds and a zone is required.
const FHIR_INSTANT =
  /^([0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$/;

export interface ParseExportOptions {
  /** Whether the node serves (stores and searches) a resource type. */
  readonly isServedType: (type: string) => boolean;
  /** Plans a `_typeFilter` query as a search would, throwing ERR_INVALID_INPUT naming a bad parameter. */
  readonly checkQuery: (resourceType: string, query: URLSearchParams) => void;
  /** `Prefer: handling=lenient`: unsupported parameters are ignored instead of refused. */
  readonly lenient: boolean;
}

function invalid(message: string, parameter: string): never {
  throw new CareLedgerError('ERR_INVALID_INPUT', message, { details: { parameter } });
}

/**
 * Splits a `_typeFilter` value into its queries. Queries are comma-separated (STU1 style) or given in
 * repeated parameters (STU2); a comma inside a query is a FHIR "or" between values, so a value is cut
 * only where a comma is followed by the next `Type?`.
 */
export function splitTypeFilter(value: string): string[] {
  return value
    .split(/,(?=[A-Z][A-Za-z]{0,63}\?)/)
    .map((q) => q.trim())
    .filter((q) => q !== '');
}

/**
 * Turns the kick-off's parameters (the query string of a GET, or the Parameters body of a POST, as
 * name/value pairs) into an ExportRequest, or throws ERR_INVALID_INPUT naming the parameter (values are
 * never echoed: a `_typeFilter` may hold PHI).
 */
export function parseExportRequest(
  level: ExportLevel,
  pairs: readonly (readonly [string, string])[],
  options: ParseExportOptions,
): ExportRequest {
  let types: string[] | undefined;
  let since: string | undefined;
  const typeFilters: Record<string, string[]> = {};
  let patients: string[] | undefined;
  const ignored: string[] = [];
  for (const [name, value] of pairs) {
    switch (name) {
      case '_outputFormat':
        if (!(NDJSON_FORMATS as readonly string[]).includes(value))
          invalid(`_outputFormat must be one of ${NDJSON_FORMATS.join(', ')}`, name);
        break;
      case '_type':
        for (const type of value.split(',').map((t) => t.trim())) {
          if (!options.isServedType(type)) {
            if (options.lenient) {
              ignored.push(`_type=${type.slice(0, 64)}`);
              continue;
            }
            invalid('_type names a resource type this server does not serve', name);
          }
          types = [...(types ?? []), type];
        }
        break;
      case '_since':
        if (!FHIR_INSTANT.test(value) || Number.isNaN(Date.parse(value)))
          invalid('_since must be a FHIR instant (e.g. 2026-01-01T00:00:00Z)', name);
        since = new Date(value).toISOString();
        break;
      case '_typeFilter':
        for (const text of splitTypeFilter(value)) {
          const mark = text.indexOf('?');
          const type = mark < 0 ? '' : text.slice(0, mark);
          if (!options.isServedType(type))
            invalid('_typeFilter must be Type?query with a type this server serves', name);
          const query = new URLSearchParams(text.slice(mark + 1));
          for (const key of query.keys()) {
            if (RESULT_PARAMETERS.has(key.split(':')[0] ?? ''))
              invalid(`_typeFilter may not use ${key.split(':')[0]}`, name);
          }
          options.checkQuery(type, query);
          typeFilters[type] = [...(typeFilters[type] ?? []), query.toString()];
        }
        break;
      case 'patient': {
        if (level.kind === 'system') invalid('patient applies to Patient and Group level exports', name);
        const id = value.startsWith('Patient/') ? value.slice('Patient/'.length) : '';
        if (!FHIR_ID.test(id)) invalid('patient must be a reference Patient/<id>', name);
        patients = [...(patients ?? []), id];
        break;
      }
      case '_format':
      case '_pretty':
        break;
      default: {
        // Spec parameters not honoured here and unknown ones alike (export.html#query-parameters).
        const shown = name.slice(0, 64);
        if (!options.lenient)
          invalid(
            UNSUPPORTED_PARAMETERS.has(name)
              ? `the export parameter ${shown} is not supported`
              : `unknown export parameter ${shown}`,
            shown,
          );
        ignored.push(shown);
      }
    }
  }
  // A _typeFilter for a type left out by _type selects nothing: the type stays out.
  return {
    level,
    ...(types === undefined ? {} : { types: [...new Set(types)] }),
    ...(since === undefined ? {} : { since }),
    typeFilters,
    ...(patients === undefined ? {} : { patients: [...new Set(patients)] }),
    ignored,
  };
}

/** The name/value pairs of a POST kick-off's Parameters body (export.html#post-body). */
export function parametersToPairs(body: unknown): [string, string][] {
  const parameters = body as Parameters;
  if (parameters?.resourceType !== 'Parameters') invalid('the body must be a Parameters resource', 'body');
  const pairs: [string, string][] = [];
  for (const parameter of parameters.parameter ?? []) {
    const name = parameter.name ?? '';
    const value =
      parameter.valueString ??
      parameter.valueInstant ??
      parameter.valueCode ??
      parameter.valueReference?.reference ??
      (parameter.valueDateTime as string | undefined);
    if (typeof value !== 'string') invalid('each parameter needs a string, instant or reference value', name);
    pairs.push([name, value]);
  }
  return pairs;
}
