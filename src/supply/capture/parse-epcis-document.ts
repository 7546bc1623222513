/**
 * An EPCIS 2.0 capture document (EPCIS 2.0 §8.2.7, JSON-LD binding): checked as a whole before any
 * event is stored, so a malformed document stores nothing. A refusal is ERR_INVALID_INPUT with
 * `details.reason` (and `details.event`, the index of the event at fault), which the EPCIS routes
 * answer as an RFC 7807 `epcisException:ValidationException`.
 */
import { CareLedgerError } from '../../errors/index.js';
import { type EpcisEvent, epcToDigitalLink, parseEpcisEvent } from '../epcis/index.js';
import type { EpcRole } from '../storage/supply-store.js';

export interface EpcisDocument {
  readonly context: unknown;
  readonly events: readonly EpcisEvent[];
}

/** EPCIS 2.0 §8.2.7.1: a capture is limited; larger documents are a CaptureLimitExceededException. */
export const MAX_EVENTS_PER_CAPTURE = 10_000;

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

function refuse(reason: string, message: string, details: Record<string, unknown> = {}): never {
  throw new CareLedgerError('ERR_INVALID_INPUT', message, { details: { reason, ...details } });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseEpcisDocument(body: unknown): EpcisDocument {
  if (!isObject(body)) refuse('not-an-object', 'an EPCIS document is a JSON object');
  if (body['@context'] === undefined) refuse('missing-context', 'an EPCIS JSON-LD document needs @context');
  if (body.type !== 'EPCISDocument') refuse('not-a-document', 'type must be EPCISDocument');
  if (body.schemaVersion !== '2.0' && body.schemaVersion !== 2) {
    refuse('schema-version', 'schemaVersion must be "2.0"');
  }
  if (typeof body.creationDate !== 'string' || !DATE_TIME.test(body.creationDate)) {
    refuse('creation-date', 'creationDate must be an ISO 8601 date-time with an offset');
  }
  const epcisBody = body.epcisBody;
  if (!isObject(epcisBody) || !Array.isArray(epcisBody.eventList)) {
    refuse('missing-event-list', 'epcisBody.eventList must be an array of events');
  }
  const list = epcisBody.eventList as unknown[];
  if (list.length === 0) refuse('empty-event-list', 'epcisBody.eventList is empty');
  if (list.length > MAX_EVENTS_PER_CAPTURE) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'too many events in one capture', {
      details: { reason: 'capture-limit', limit: MAX_EVENTS_PER_CAPTURE },
    });
  }
  const events = list.map((event, index) => {
    try {
      return parseEpcisEvent(event);
    } catch (error) {
      if (error instanceof CareLedgerError) {
        throw new CareLedgerError('ERR_INVALID_INPUT', `event ${index}: ${error.message}`, {
          details: { ...(error.details ?? {}), event: index },
        });
      }
      throw error;
    }
  });
  return { context: body['@context'], events };
}

const CBV_PREFIXES: Readonly<Record<'BizStep' | 'Disp', readonly string[]>> = {
  BizStep: ['urn:epcglobal:cbv:bizstep:', 'https://ref.gs1.org/cbv/BizStep-', 'https://gs1.org/voc/Bizstep-'],
  Disp: ['urn:epcglobal:cbv:disp:', 'https://ref.gs1.org/cbv/Disp-', 'https://gs1.org/voc/Disp-'],
};

/** A CBV value as its bare word (`shipping`), whichever of the three forms EPCIS 2.0 allows was used. */
export function cbvWord(value: string | undefined, kind: 'BizStep' | 'Disp'): string | undefined {
  if (value === undefined) return undefined;
  for (const prefix of CBV_PREFIXES[kind]) {
    if (value.startsWith(prefix)) return value.slice(prefix.length);
  }
  return value;
}

/** An EPC as stored and matched: its canonical GS1 Digital Link where it has one. */
export function normaliseEpc(epc: string): string {
  return epcToDigitalLink(epc) ?? epc;
}

/** Every EPC an event names, by role (EPCIS 2.0 §8.2.7.1: MATCH_epc and MATCH_anyEPC). */
export function epcsOf(event: EpcisEvent): { role: EpcRole; epc: string }[] {
  const out: { role: EpcRole; epc: string }[] = [];
  const add = (role: EpcRole, values: readonly string[] | undefined) => {
    for (const value of values ?? []) out.push({ role, epc: normaliseEpc(value) });
  };
  add('epc', event.epcList);
  add('child', event.childEPCs);
  if (event.parentID !== undefined) add('parent', [event.parentID]);
  add('input', event.inputEPCList);
  add('output', event.outputEPCList);
  return out;
}

/** The value of an ILMD property named `name` under any prefix (`cbvmda:lotNumber`, `lotNumber`). */
export function ilmdValue(event: EpcisEvent, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.ilmd ?? {})) {
    if ((key === name || key.endsWith(`:${name}`)) && typeof value === 'string') return value;
  }
  return undefined;
}
