import { describe, expect, it } from 'vitest';
import { createAuthenticator } from '../authenticate-request.js';
import { createNodeApp } from '../create-node-app.js';
import { createFhirRoutes, type FhirRouteDeps } from './fhir-routes.js';

describe('FHIR routes without authentication', () => {
  it('refuse the development identity header unless the operator turned it on', async () => {
    const app = createNodeApp();
    app.route(
      '/fhir',
      createFhirRoutes({
        repository: {} as FhirRouteDeps['repository'],
        software: { name: 'CareLedger', version: 'test' },
        authenticate: createAuthenticator({ organization: 'Test Clinic', devIdentityHeader: false }),
      }),
    );
    const response = await app.request('/fhir/Patient/123', {
      headers: { 'x-careledger-identity': 'Practitioner/1' },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="careledger"');
    const outcome = (await response.json()) as { resourceType: string; issue: { diagnostics: string }[] };
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue[0]?.diagnostics).toBe('authentication is required');
  });
});
