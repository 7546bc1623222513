/**
 * Whole-system interactions (R4 http.html §3.1.0): history `GET [base]/_history` and search
 * `GET [base]?_type=` / `POST [base]/_search`, as an outside conformance suite (Touchstone, Inferno)
 * sends them, against one real node over a real anvil chain, in-process. Both were 404 before.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

const CLINICIAN = { 'x-careledger-identity': 'Practitioner/dr-system', 'x-careledger-purpose': 'TREAT' };

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: FHIR JSON read back in assertions
  body: any;
}

let solo: SoloNode;

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = CLINICIAN,
): Promise<Answer> {
  const response = await solo.node.app.request(path.replace(/^https?:\/\/[^/]+/, ''), {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/fhir+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? '' : JSON.parse(text) };
}

const etags = (bundle: { entry?: { fullUrl: string; response: { etag: string } }[] }) =>
  (bundle.entry ?? []).map((e) => `${e.fullUrl.replace(/^.*\/fhir\//, '')} ${e.response.etag}`);

let patientId: string;
let otherPatientId: string;
let observationId: string;
let organizationId: string;
/** lastUpdated of the first record this file writes: history since then is this file's only. */
let start: string;

beforeAll(async () => {
  solo = await startSoloNode();
  const patient = await call('POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Sys' }] });
  patientId = patient.body.id;
  start = patient.body.meta.lastUpdated;
  otherPatientId = (
    await call('POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Other' }] })
  ).body.id;
  observationId = (
    await call('POST', '/fhir/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'pulse' },
      subject: { reference: `Patient/${patientId}` },
      meta: { tag: [{ system: 'urn:test', code: 'sys' }] },
    })
  ).body.id;
  await call('PUT', `/fhir/Observation/${observationId}`, {
    resourceType: 'Observation',
    id: observationId,
    status: 'amended',
    code: { text: 'pulse' },
    subject: { reference: `Patient/${patientId}` },
    meta: { tag: [{ system: 'urn:test', code: 'sys' }] },
  });
  organizationId = (
    await call('POST', '/fhir/Organization', {
      resourceType: 'Organization',
      name: 'System Clinic',
      meta: { tag: [{ system: 'urn:test', code: 'sys' }] },
    })
  ).body.id;
});

afterAll(async () => {
  await solo?.stop();
});

describe('system history (GET [base]/_history)', () => {
  it('lists every type’s versions newest first, without AuditEvents, as a history Bundle', async () => {
    const answer = await call('GET', `/fhir/_history?_since=${start}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ resourceType: 'Bundle', type: 'history' });
    // R4: versions made at or after _since; the first Patient was made at it.
    expect(etags(answer.body)).toEqual([
      `Organization/${organizationId} W/"1"`,
      `Observation/${observationId} W/"2"`,
      `Observation/${observationId} W/"1"`,
      `Patient/${otherPatientId} W/"1"`,
      `Patient/${patientId} W/"1"`,
    ]);
    expect(answer.body.entry[0].request).toEqual({ method: 'POST', url: 'Organization' });
    expect(answer.body.entry[1].request).toEqual({ method: 'PUT', url: `Observation/${observationId}` });
    expect(
      answer.body.entry.every(
        (e: { resource?: { resourceType: string } }) => e.resource?.resourceType !== 'AuditEvent',
      ),
    ).toBe(true);
  });

  it('pages with _count through next links, each version once', async () => {
    const seen: string[] = [];
    let page = await call('GET', '/fhir/_history?_count=2');
    for (let hops = 0; hops < 20; hops++) {
      expect(page.status).toBe(200);
      expect(page.body.entry.length).toBeLessThanOrEqual(2);
      seen.push(...etags(page.body));
      const next = page.body.link.find((l: { relation: string }) => l.relation === 'next');
      if (next === undefined) break;
      page = await call('GET', next.url);
    }
    expect(seen.slice(0, 3)).toEqual([
      `Organization/${organizationId} W/"1"`,
      `Observation/${observationId} W/"2"`,
      `Observation/${observationId} W/"1"`,
    ]);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toContain(`Patient/${patientId} W/"1"`);
  });

  it('honours _at: only the versions current then', async () => {
    const answer = await call('GET', '/fhir/_history?_at=9999-01-01T00:00:00Z');
    expect(answer.status).toBe(200);
    const listed = etags(answer.body);
    expect(listed).toContain(`Observation/${observationId} W/"2"`);
    expect(listed).not.toContain(`Observation/${observationId} W/"1"`);
    const before = await call('GET', '/fhir/_history?_at=2000');
    expect(before.body.entry ?? []).toEqual([]);
    const malformed = await call('GET', '/fhir/_history?_at=soon');
    expect(malformed.status).toBe(400);
    expect(malformed.body.issue[0].expression).toEqual(['_at']);
  });

  it('refuses a parameter history does not serve, naming it (it was silently ignored)', async () => {
    for (const path of [
      '/fhir/_history?_list=x',
      '/fhir/Observation/_history?_type=Patient',
      `/fhir/Observation/${observationId}/_history?status=final`,
    ]) {
      const answer = await call('GET', path);
      expect(answer.status).toBe(400);
      expect(answer.body.issue[0].expression).toEqual([
        new URL(path, 'http://x').searchParams.keys().next().value,
      ]);
    }
  });

  it('type history honours _at the same way (it was a 400)', async () => {
    const answer = await call('GET', '/fhir/Observation/_history?_at=9999-01-01T00:00:00Z');
    expect(answer.status).toBe(200);
    const listed = etags(answer.body);
    expect(listed).toContain(`Observation/${observationId} W/"2"`);
    expect(listed).not.toContain(`Observation/${observationId} W/"1"`);
  });

  it('shows a patient only their own compartment, and is audited as type history is', async () => {
    const patient = { 'x-careledger-identity': `Patient/${patientId}`, 'x-careledger-purpose': 'PATRQT' };
    const answer = await call('GET', '/fhir/_history', undefined, patient);
    expect(answer.status).toBe(200);
    const listed = etags(answer.body);
    expect(listed).toContain(`Observation/${observationId} W/"2"`);
    expect(listed).toContain(`Patient/${patientId} W/"1"`);
    expect(listed.filter((e) => e.startsWith(`Patient/${otherPatientId}`))).toEqual([]);
    expect(listed.filter((e) => e.startsWith('Organization/'))).toEqual([]);
    const trail = await call('GET', `/fhir/AuditEvent?patient=${patientId}&_count=200`, undefined, {
      ...CLINICIAN,
      'x-careledger-identity': 'Practitioner/po-system',
      'x-careledger-roles': 'privacy-officer',
    });
    const histories = (trail.body.entry as { resource: AuditEvent }[]).filter(
      (e) => e.resource.entity?.[0]?.what?.reference === '_history',
    );
    expect(histories.length).toBeGreaterThan(0);
    expect(histories.every((e) => e.resource.subtype?.[0]?.code === 'history-type')).toBe(true);
  });

  it('is claimed in the CapabilityStatement', async () => {
    const metadata = await call('GET', '/fhir/metadata');
    const codes = metadata.body.rest[0].interaction.map((i: { code: string }) => i.code);
    expect(codes).toContain('history-system');
    expect(codes).toContain('search-system');
    expect(metadata.body.rest[0].searchParam.map((p: { name: string }) => p.name)).toContain('_tag');
  });
});

describe('system search (GET [base]?_type=, POST [base]/_search)', () => {
  it('searches the listed types with common parameters, merged by _lastUpdated', async () => {
    const answer = await call('GET', '/fhir?_type=Observation,Organization&_tag=urn:test|sys');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    expect(answer.body.entry.map((e: { fullUrl: string }) => e.fullUrl.replace(/^.*\/fhir\//, ''))).toEqual([
      `Observation/${observationId}`,
      `Organization/${organizationId}`,
    ]);
    const self = answer.body.link.find((l: { relation: string }) => l.relation === 'self').url as string;
    expect(new URL(self).searchParams.get('_type')).toBe('Observation,Organization');
    const newest = await call(
      'GET',
      '/fhir?_type=Observation,Organization,Patient&_sort=-_lastUpdated&_count=1',
    );
    expect(newest.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([
      organizationId,
    ]);
    const next = newest.body.link.find((l: { relation: string }) => l.relation === 'next');
    const second = await call('GET', next.url);
    expect(second.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([
      observationId,
    ]);
  });

  it('takes _id and _lastUpdated, and POST _search with a form body', async () => {
    const byId = await call('GET', `/fhir?_type=Patient,Organization&_id=${organizationId},${patientId}`);
    expect(byId.body.entry.map((e: { resource: { id: string } }) => e.resource.id).sort()).toEqual(
      [organizationId, patientId].sort(),
    );
    const response = await solo.node.app.request('/fhir/_search', {
      method: 'POST',
      headers: { ...CLINICIAN, 'content-type': 'application/x-www-form-urlencoded' },
      body: `_type=Organization&_id=${organizationId}&_lastUpdated=ge${start}`,
    });
    expect(response.status).toBe(200);
    const posted = (await response.json()) as { entry: { resource: { id: string } }[] };
    expect(posted.entry.map((e) => e.resource.id)).toEqual([organizationId]);
  });

  it('_count=0 answers no entries and no next link', async () => {
    const answer = await call('GET', '/fhir?_type=Observation,Organization&_count=0');
    expect(answer.status).toBe(200);
    expect(answer.body.entry).toEqual([]);
    expect(answer.body.link.map((l: { relation: string }) => l.relation)).toEqual(['self']);
  });

  it('_total=accurate and _summary=count sum the types’ totals', async () => {
    const counted = await call(
      'GET',
      '/fhir?_type=Observation,Organization&_tag=urn:test|sys&_summary=count',
    );
    expect(counted.status).toBe(200);
    expect(counted.body.total).toBe(2);
    expect(counted.body.entry).toEqual([]);
    const accurate = await call(
      'GET',
      '/fhir?_type=Observation,Organization&_tag=urn:test|sys&_total=accurate&_count=1',
    );
    expect(accurate.body.total).toBe(2);
    expect(accurate.body.entry).toHaveLength(1);
  });

  it('needs an authenticated requester before anything else (401, not a 400 about the query)', async () => {
    for (const path of ['/fhir?_id=x', '/fhir?_type=Patient', '/fhir/_history']) {
      expect((await call('GET', path, undefined, {})).status).toBe(401);
    }
  });

  it('refuses a search without _type with a 400 naming _type', async () => {
    const answer = await call('GET', '/fhir?_id=x');
    expect(answer.status).toBe(400);
    expect(answer.body.resourceType).toBe('OperationOutcome');
    expect(answer.body.issue[0].expression).toEqual(['_type']);
    const unknown = await call('GET', '/fhir?_type=Nonsense');
    expect(unknown.status).toBe(400);
    // A page's cost is bounded: 11 types × 1,000 matches is refused, naming _count.
    const types =
      'Patient,Observation,Organization,Condition,Encounter,Procedure,Goal,Claim,Coverage,Device,Group';
    const costly = await call('GET', `/fhir?_type=${types}&_count=999`);
    expect(costly.body.issue[0].expression).toEqual(['_count']);
    expect(costly.status).toBe(400);
  });

  it('handles a parameter not common to the types as type search does: strict 400, lenient outcome', async () => {
    const strict = await call('GET', '/fhir?_type=Observation,Organization&code=pulse', undefined, {
      ...CLINICIAN,
      prefer: 'handling=strict',
    });
    expect(strict.status).toBe(400);
    expect(strict.body.issue[0].expression).toEqual(['code']);
    const lenient = await call('GET', '/fhir?_type=Observation,Organization&code=pulse&_tag=urn:test|sys');
    expect(lenient.status).toBe(200);
    const outcome = lenient.body.entry.find((e: { search: { mode: string } }) => e.search.mode === 'outcome');
    expect(outcome.resource.issue[0].expression).toEqual(['code']);
    const self = lenient.body.link.find((l: { relation: string }) => l.relation === 'self').url as string;
    expect(new URL(self).searchParams.has('code')).toBe(false);
    // A type-specific parameter is fine when every listed type has it.
    const one = await call('GET', '/fhir?_type=Observation&code:text=pulse');
    expect(one.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([observationId]);
  });
});
