/**
 * EPCIS 2.0 query over the events this node captured: `GET /epcis/events` with the SimpleEventQuery
 * parameters of EPCIS 2.0 §8.2.7.1 that name stored fields (eventType, GE_/LT_eventTime,
 * GE_/LT_recordTime, EQ_action, EQ_bizStep, EQ_disposition, EQ_bizLocation, EQ_readPoint, EQ_eventID,
 * MATCH_epc, MATCH_parentID, MATCH_inputEPC, MATCH_outputEPC, MATCH_anyEPC), paged with perPage and
 * nextPageToken as the REST binding does. An unknown or malformed parameter is a
 * QueryParameterException (details.reason `query-parameter`).
 */
import { CareLedgerError } from '../../errors/index.js';
import { canonicalTimestamp } from '../epcis/index.js';
import type { EpcisEventFilter, EpcRole, StoredEpcisEvent, SupplyStore } from '../storage/supply-store.js';
import { cbvWord, normaliseEpc } from './parse-epcis-document.js';

export const EPCIS_CONTEXT = 'https://ref.gs1.org/standards/epcis/epcis-context.jsonld';
const DEFAULT_PER_PAGE = 100;
const MAX_PER_PAGE = 1_000;

const MATCH_ROLES: Readonly<Record<string, readonly EpcRole[]>> = {
  MATCH_epc: ['epc', 'child'],
  MATCH_parentID: ['parent'],
  MATCH_inputEPC: ['input'],
  MATCH_outputEPC: ['output'],
  MATCH_anyEPC: ['epc', 'child', 'parent', 'input', 'output'],
};

const EVENT_TYPES = new Set(['ObjectEvent', 'AggregationEvent', 'TransactionEvent', 'TransformationEvent']);

function refuse(parameter: string, message: string): never {
  throw new CareLedgerError('ERR_INVALID_INPUT', message, {
    details: { reason: 'query-parameter', parameter },
  });
}

function list(query: URLSearchParams, name: string): string[] | undefined {
  const values = query
    .getAll(name)
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter((value) => value !== '');
  return values.length === 0 ? undefined : values;
}

function time(query: URLSearchParams, name: string): string | undefined {
  const value = query.get(name);
  if (value === null) return undefined;
  const canonical = canonicalTimestamp(value);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(canonical)) {
    refuse(name, `${name} must be an ISO 8601 date-time`);
  }
  return canonical;
}

export function parseEpcisQuery(query: URLSearchParams): EpcisEventFilter {
  for (const name of new Set(query.keys())) {
    if (
      !['eventType', 'perPage', 'nextPageToken', 'EQ_eventID'].includes(name) &&
      !/^(GE|LT)_(eventTime|recordTime)$/.test(name) &&
      !/^EQ_(action|bizStep|disposition|bizLocation|readPoint)$/.test(name) &&
      MATCH_ROLES[name] === undefined
    ) {
      refuse(name, `unsupported query parameter ${name}`);
    }
  }
  const eventTypes = list(query, 'eventType');
  for (const type of eventTypes ?? []) {
    if (!EVENT_TYPES.has(type)) refuse('eventType', `unknown eventType ${type}`);
  }
  const actions = list(query, 'EQ_action');
  for (const action of actions ?? []) {
    if (!['ADD', 'OBSERVE', 'DELETE'].includes(action))
      refuse('EQ_action', 'EQ_action is ADD, OBSERVE or DELETE');
  }
  const perPageText = query.get('perPage');
  const perPage = perPageText === null ? DEFAULT_PER_PAGE : Number(perPageText);
  if (!Number.isInteger(perPage) || perPage < 1 || perPage > MAX_PER_PAGE) {
    refuse('perPage', `perPage must be an integer from 1 to ${MAX_PER_PAGE}`);
  }
  const epcMatches = Object.entries(MATCH_ROLES).flatMap(([name, roles]) => {
    const patterns = list(query, name);
    return patterns === undefined
      ? []
      : [{ roles, patterns: patterns.map((p) => (p.endsWith('*') ? p : normaliseEpc(p))) }];
  });
  const optional = <K extends string, V>(key: K, value: V | undefined) =>
    (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;
  return {
    ...optional('eventTypes', eventTypes),
    ...optional('eventTimeFrom', time(query, 'GE_eventTime')),
    ...optional('eventTimeBefore', time(query, 'LT_eventTime')),
    ...optional('recordTimeFrom', time(query, 'GE_recordTime')),
    ...optional('recordTimeBefore', time(query, 'LT_recordTime')),
    ...optional('actions', actions),
    ...optional(
      'bizSteps',
      list(query, 'EQ_bizStep')?.map((v) => cbvWord(v, 'BizStep') as string),
    ),
    ...optional(
      'dispositions',
      list(query, 'EQ_disposition')?.map((v) => cbvWord(v, 'Disp') as string),
    ),
    ...optional('bizLocations', list(query, 'EQ_bizLocation')),
    ...optional('readPoints', list(query, 'EQ_readPoint')),
    ...optional('eventIds', list(query, 'EQ_eventID')),
    ...(epcMatches.length === 0 ? {} : { epcMatches }),
    ...optional('after', parsePageToken(query.get('nextPageToken'))),
    limit: perPage,
  };
}

function parsePageToken(token: string | null): { recordTime: string; eventHash: string } | undefined {
  if (token === null) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      r?: unknown;
      h?: unknown;
    };
    if (typeof parsed.r === 'string' && typeof parsed.h === 'string')
      return { recordTime: parsed.r, eventHash: parsed.h };
  } catch {
    // fall through
  }
  return refuse('nextPageToken', 'nextPageToken is not one this node issued');
}

export interface EpcisQueryResult {
  readonly document: Record<string, unknown>;
  readonly nextPageToken?: string;
}

/** Runs a query and shapes the EPCISQueryDocument (EPCIS 2.0 §8.2.7, JSON-LD binding). */
export async function queryEpcisEvents(
  store: SupplyStore,
  query: URLSearchParams,
  now: Date = new Date(),
): Promise<EpcisQueryResult> {
  const filter = parseEpcisQuery(query);
  const events = await store.queryEvents({ ...filter, limit: filter.limit + 1 });
  const page = events.slice(0, filter.limit);
  const last: StoredEpcisEvent | undefined = page[page.length - 1];
  const nextPageToken =
    events.length > filter.limit && last !== undefined
      ? Buffer.from(JSON.stringify({ r: last.recordTime, h: last.eventHash })).toString('base64url')
      : undefined;
  return {
    document: {
      '@context': [EPCIS_CONTEXT],
      type: 'EPCISQueryDocument',
      schemaVersion: '2.0',
      creationDate: now.toISOString(),
      epcisBody: {
        queryResults: {
          queryName: 'SimpleEventQuery',
          resultsBody: { eventList: page.map((event) => JSON.parse(event.json) as unknown) },
        },
      },
    },
    ...(nextPageToken === undefined ? {} : { nextPageToken }),
  };
}
