import type { AuditEvent } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { createRandom } from '../../test/support/seeded-random.js';
import { canonicalJson } from '../fhir/canonical-json.js';
import {
  AUDIT_INDEX_HASH_CACHE_SIZE,
  auditEventIndexEntries,
  auditIndexEntries,
} from './audit-event-index.js';
import {
  type AccessContext,
  type AuditEventInput,
  canonicalAuditEventJson,
  createAuditEvent,
  type FhirInteraction,
} from './create-audit-event.js';

const INTERACTIONS: FhirInteraction[] = [
  'read',
  'vread',
  'update',
  'delete',
  'history-instance',
  'history-type',
  'create',
  'search-type',
  'transaction',
  'batch',
  'operation',
];

/** Pieces that stress JSON escaping and key-like text: quotes, backslashes, controls, non-BMP, lone surrogates. */
const PIECES = [
  'Patient/p-1',
  'Practitioner/dr-1',
  'Organization/0x00000000000000000000000000000000000000aA',
  'Observation/o-1/_history/3',
  'https://other.example/fhir/Patient/9',
  '#contained',
  'Patient/x/_history/2',
  '"',
  '\\',
  '\n',
  '\u0000',
  '\u001f',
  '\u2028',
  'é',
  '😀',
  '\ud800',
  '\udc00',
  '},{"a":1',
  ' ',
  'TREAT',
  '/',
  '',
];

function text(random: () => number): string {
  let out = '';
  const n = Math.floor(random() * 4);
  for (let i = 0; i < n; i++) out += PIECES[Math.floor(random() * PIECES.length)];
  return out;
}

function maybe<T>(random: () => number, value: () => T): T | undefined {
  return random() < 0.5 ? value() : undefined;
}

function randomInput(random: () => number): AuditEventInput {
  const context: Record<string, unknown> = {
    who: random() < 0.3 ? (PIECES[Math.floor(random() * 7)] as string) : text(random),
    purpose: text(random),
  };
  const address = maybe(random, () => text(random));
  if (address !== undefined) context.address = address;
  const onBehalfOf = maybe(random, () => text(random));
  if (onBehalfOf !== undefined) context.onBehalfOf = onBehalfOf;
  if (random() < 0.4) context.breakGlass = random() < 0.7;
  if (random() < 0.2) context.organization = text(random);
  if (random() < 0.2) context.roles = ['clinician'];
  const input: Record<string, unknown> = {
    interaction: INTERACTIONS[Math.floor(random() * INTERACTIONS.length)],
    context,
    outcome: (['success', 'denied', 'failed'] as const)[Math.floor(random() * 3)],
    observer: { display: text(random), origin: text(random) },
    recorded: random() < 0.8 ? new Date(1.7e12 + random() * 1e11).toISOString() : text(random),
  };
  for (const name of ['entity', 'patient', 'outcomeDescription', 'purposeText']) {
    const value = maybe(random, () => text(random));
    if (value !== undefined) input[name] = value;
  }
  if (random() < 0.3) input.breakGlassStopped = random() < 0.6;
  return input as unknown as AuditEventInput;
}

/** What the store wrote before: the object, then its canonical JSON. */
function viaObject(input: AuditEventInput, id: string): string {
  return canonicalJson({
    ...createAuditEvent(input),
    id,
    meta: { versionId: '1', lastUpdated: input.recorded },
  } as AuditEvent);
}

describe('canonicalAuditEventJson', () => {
  test('is canonicalJson of the stored AuditEvent, byte for byte, over 20,000 generated inputs', () => {
    const random = createRandom(55);
    for (let i = 0; i < 20_000; i++) {
      const input = randomInput(random);
      const id = random() < 0.9 ? '0190d6a4-8e2b-7c3d-9e4f-0123456789ab' : text(random);
      expect(canonicalAuditEventJson(input, id), JSON.stringify(input)).toBe(viaObject(input, id));
    }
  });

  test('every optional part present and absent, each interaction and outcome', () => {
    const context: AccessContext = {
      who: 'Practitioner/dr-1',
      purpose: 'TREAT',
      address: '10.0.0.7',
      breakGlass: true,
      onBehalfOf: 'Practitioner/0xbB',
    };
    for (const interaction of INTERACTIONS)
      for (const outcome of ['success', 'denied', 'failed'] as const)
        for (const stopped of [true, false, undefined]) {
          const full: AuditEventInput = {
            interaction,
            context,
            entity: 'Condition/c-9/_history/1',
            patient: 'Patient/p-3',
            outcome,
            outcomeDescription: 'no grant',
            purposeText: 'unconscious',
            ...(stopped === undefined ? {} : { breakGlassStopped: stopped }),
            observer: { display: 'Hospital', origin: 'hospital.example/log' },
            recorded: '2026-12-08T01:00:00.000Z',
          };
          const bare: AuditEventInput = {
            interaction,
            context: { who: 'Patient/p-1', purpose: 'PATRQT' },
            outcome,
            observer: full.observer,
            recorded: full.recorded,
          };
          for (const input of [full, bare]) {
            const text = canonicalAuditEventJson(input, 'a-1');
            expect(text).toBe(viaObject(input, 'a-1'));
            expect(JSON.parse(text)).toEqual({
              ...createAuditEvent(input),
              id: 'a-1',
              meta: { versionId: '1', lastUpdated: input.recorded },
            });
          }
        }
  });

  test('an input outside the declared types gets the generic serialisation, the same text', () => {
    const base = {
      interaction: 'read',
      context: { who: 'Practitioner/dr-1', purpose: 'TREAT' },
      outcome: 'success',
      observer: { display: 'Hospital', origin: 'hospital.example/log' },
      recorded: '2026-12-08T01:00:00.000Z',
    };
    const odd: unknown[] = [
      { ...base, interaction: 'not-an-interaction' },
      { ...base, interaction: 'toString' },
      { ...base, context: { who: 'Practitioner/dr-1' } },
      { ...base, context: { who: 7, purpose: 'TREAT' } },
      { ...base, context: { who: 'Practitioner/dr-1', purpose: 'TREAT', address: null } },
      { ...base, context: { who: 'Practitioner/dr-1', purpose: 'TREAT', onBehalfOf: { reference: 'x' } } },
      { ...base, observer: { display: 'Hospital' } },
      { ...base, purposeText: null },
      { ...base, entity: 12 },
      { ...base, patient: ['Patient/1'] },
      { ...base, outcomeDescription: { z: 1, a: 2 } },
      { ...base, recorded: undefined },
    ];
    for (const input of odd)
      expect(canonicalAuditEventJson(input as AuditEventInput, 'a-1')).toBe(
        viaObject(input as AuditEventInput, 'a-1'),
      );
  });
});

describe('auditIndexEntries', () => {
  test('gives the rows auditEventIndexEntries gives the stored AuditEvent, in order, over 5,000 inputs', () => {
    const random = createRandom(56);
    const hash = (value: string) => `h(${value})`;
    for (let i = 0; i < 5_000; i++) {
      const input = randomInput(random);
      const event = { ...createAuditEvent(input), id: 'a-1' } as AuditEvent;
      const agents = [input.context.who];
      if (input.context.onBehalfOf !== undefined) agents.push(input.context.onBehalfOf);
      const entities: string[] = [];
      if (input.entity !== undefined) entities.push(input.entity);
      if (input.patient !== undefined) entities.push(input.patient);
      expect(
        auditIndexEntries({ interaction: input.interaction, agents, entities }, hash),
        JSON.stringify(input),
      ).toEqual(auditEventIndexEntries(event, hash));
    }
  });

  test('past the bound of kept rows the rows stay the same (the kept ones are emptied, then rebuilt)', () => {
    const calls: string[] = [];
    const hash = (value: string) => {
      calls.push(value);
      return `c(${value})`;
    };
    const fields = (i: number) => ({
      interaction: 'read',
      agents: ['Practitioner/dr-1'],
      entities: [`Observation/o-${i}/_history/1`, `Patient/p-${i}`],
    });
    const first = auditIndexEntries(fields(0), hash);
    const hashed = calls.length;
    expect(auditIndexEntries(fields(0), hash)).toEqual(first);
    expect(calls.length).toBe(hashed);
    for (let i = 1; i <= AUDIT_INDEX_HASH_CACHE_SIZE; i++) {
      const rows = auditIndexEntries(fields(i), hash);
      if (i % 512 === 0) expect(rows).toHaveLength(first.length);
    }
    const before = calls.length;
    expect(auditIndexEntries(fields(0), hash)).toEqual(first);
    expect(calls.length).toBeGreaterThan(before);
  });

  test('a repeated reference and a Patient as agent: rows once each, patient rows from both sides', () => {
    const hash = (value: string) => `k(${value})`;
    const input: AuditEventInput = {
      interaction: 'read',
      context: { who: 'Patient/p-2', purpose: 'PATRQT', onBehalfOf: 'Patient/p-2' },
      entity: 'Patient/p-2/_history/1',
      patient: 'Patient/p-2',
      outcome: 'success',
      observer: { display: 'Hospital', origin: 'hospital.example/log' },
      recorded: '2026-12-08T01:00:00.000Z',
    };
    const rows = auditIndexEntries(
      {
        interaction: 'read',
        agents: ['Patient/p-2', 'Patient/p-2'],
        entities: ['Patient/p-2/_history/1', 'Patient/p-2'],
      },
      hash,
    );
    expect(rows).toEqual(auditEventIndexEntries(createAuditEvent(input), hash));
    expect(new Set(rows.map((r) => `${r.param} ${r.hash}`)).size).toBe(rows.length);
  });
});
