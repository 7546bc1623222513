import { describe, expect, it } from 'vitest';
import { indexOrder } from './index-order.js';

describe('indexOrder', () => {
  it('is the storage order for no _sort and _lastUpdated, reversed for -_lastUpdated', () => {
    expect(indexOrder({ sort: [] })).toBe('ascending');
    expect(indexOrder({ sort: [{ code: '_lastUpdated' }] })).toBe('ascending');
    expect(indexOrder({ sort: [{ code: '_lastUpdated', descending: true }] })).toBe('descending');
  });

  it('is unknown for any other sort, so every candidate is sorted after decryption', () => {
    expect(indexOrder({ sort: [{ code: 'date' }] })).toBeUndefined();
    expect(indexOrder({ sort: [{ code: '_lastUpdated' }, { code: 'date' }] })).toBeUndefined();
  });
});
