/**
 * ARCHITECTURE §3: no answer without its audit entry. When the transparency log cannot append (here
 * SQLite itself refuses the write, as on a full disk), a write is not stored, a read serves nothing,
 * and the HTTP answer is 503 with Retry-After. Once the log accepts writes again, service resumes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { createAuthenticator } from '../../src/http/authenticate-request.js';
import { createNodeApp } from '../../src/http/create-node-app.js';
import { createFhirBundleRoutes } from '../../src/http/routes/fhir-bundle-routes.js';
import { createFhirRoutes, SUPPORTED_RESOURCE_TYPES } from '../../src/http/routes/fhir-routes.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';

const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
let vault: TestVault;
let app: ReturnType<typeof createNodeApp>;
const headers = { 'x-careledger-identity': 'Practitioner/dr-1', 'content-type': 'application/fhir+json' };

beforeAll(async () => {
  vault = await openTestVault('0x00000000000000000000000000000000000000aa');
  app = createNodeApp();
  const authenticate = createAuthenticator({ organization: 'Test', devIdentityHeader: true });
  app.route(
    '/fhir',
    createFhirBundleRoutes({
      repository: vault.repo,
      authenticate,
      resourceTypes: SUPPORTED_RESOURCE_TYPES,
      dispatch: async (request) => app.fetch(request),
    }),
  );
  app.route(
    '/fhir',
    createFhirRoutes({
      repository: vault.repo,
      software: { name: 'CareLedger', version: 'test' },
      authenticate: createAuthenticator({ organization: 'Test', devIdentityHeader: true }),
    }),
  );
});

afterAll(() => vault.close());

function breakLog(): void {
  vault.db.exec(
    "CREATE TEMP TRIGGER log_full BEFORE INSERT ON log_leaves BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
  );
}

function repairLog(): void {
  vault.db.exec('DROP TRIGGER log_full');
}

describe('when the transparency log cannot append', () => {
  it('stores no write, serves no read, answers 503, and recovers', async () => {
    const patient = await vault.repo.create(
      { resourceType: 'Patient', name: [{ family: 'Kept' }] },
      clinician,
    );
    const rows = () => (vault.db.prepare('SELECT count(*) AS n FROM vault_records').get() as { n: number }).n;
    const before = rows();
    breakLog();

    const create = await app.request('/fhir/Patient', {
      method: 'POST',
      headers,
      body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Lost' }] }),
    });
    expect(create.status).toBe(503);
    expect(create.headers.get('retry-after')).not.toBeNull();
    expect(((await create.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');

    const read = await app.request(`/fhir/Patient/${patient.id}`, { headers });
    expect(read.status).toBe(503);
    expect(await read.text()).not.toContain('Kept');

    const search = await app.request('/fhir/Patient?family=Kept', { headers });
    expect(search.status).toBe(503);
    expect(await search.text()).not.toContain('Kept');

    const transaction = await app.request('/fhir', {
      method: 'POST',
      headers,
      body: JSON.stringify({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:8d7f1a3e-5b0c-4f1e-9a2b-3c4d5e6f7a8b',
            resource: { resourceType: 'Patient', name: [{ family: 'Lost' }] },
            request: { method: 'POST', url: 'Patient' },
          },
        ],
      }),
    });
    expect(transaction.status).toBe(503);
    expect(rows()).toBe(before);

    repairLog();
    const again = await app.request(`/fhir/Patient/${patient.id}`, { headers });
    expect(again.status).toBe(200);
    expect(rows()).toBe(before + 1); // the read's AuditEvent
  });
});
