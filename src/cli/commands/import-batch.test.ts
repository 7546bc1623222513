import { describe, expect, it } from 'vitest';
import { createTransactionBundle, parseTransactionResponse } from './import-batch.js';

describe('import batches', () => {
  it('writes each resource as a PUT entry of a transaction Bundle, keeping its id', () => {
    const bundle = JSON.parse(
      createTransactionBundle([
        { index: 0, resourceType: 'Patient', id: 'p1', resource: { resourceType: 'Patient', id: 'p1' } },
        {
          index: 1,
          resourceType: 'Observation',
          id: 'o.1',
          resource: { resourceType: 'Observation', id: 'o.1' },
        },
      ]),
    );
    expect(bundle).toEqual({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Patient', id: 'p1' }, request: { method: 'PUT', url: 'Patient/p1' } },
        {
          resource: { resourceType: 'Observation', id: 'o.1' },
          request: { method: 'PUT', url: 'Observation/o.1' },
        },
      ],
    });
  });

  it('reads created (201) and updated (200) per entry, and nothing from another answer', () => {
    const response = (statuses: string[], type = 'transaction-response') =>
      JSON.stringify({
        resourceType: 'Bundle',
        type,
        entry: statuses.map((status) => ({ response: { status } })),
      });
    expect(parseTransactionResponse(response(['201 Created', '200 OK']), 2)).toEqual([true, false]);
    expect(parseTransactionResponse(response(['201 Created']), 2)).toBeUndefined();
    expect(parseTransactionResponse(response(['201 Created', '400 Bad Request']), 2)).toBeUndefined();
    expect(parseTransactionResponse(response(['201 Created'], 'batch-response'), 1)).toBeUndefined();
    expect(parseTransactionResponse('not json', 1)).toBeUndefined();
  });
});
