import { describe, expect, test } from 'vitest';
import { LruCache } from './lru-cache.js';

describe('LruCache', () => {
  test('evicts the least recently used entry past the entry bound', () => {
    const cache = new LruCache<number>({ maxEntries: 2 });
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1); // a is now the most recent
    cache.set('c', 3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    expect(cache.get('c')).toBe(3);
  });

  test('keeps the estimated bytes under the byte bound, and never keeps a value larger than it', () => {
    const cache = new LruCache<string>({ maxEntries: 100, maxBytes: 10, sizeOf: (v) => v.length });
    cache.set('a', 'xxxx');
    cache.set('b', 'yyyy');
    cache.set('c', 'zzzz');
    expect(cache.byteSize).toBe(8);
    expect(cache.get('a')).toBeUndefined();
    cache.set('big', 'x'.repeat(11));
    expect(cache.get('big')).toBeUndefined();
    expect(cache.size).toBe(2);
  });

  test('replacing, deleting and deleteWhere keep the byte count exact', () => {
    const cache = new LruCache<string>({ maxEntries: 10, maxBytes: 100, sizeOf: (v) => v.length });
    cache.set('p1/a', 'aaa');
    cache.set('p1/a', 'aaaaa');
    cache.set('p2/b', 'bb');
    expect(cache.byteSize).toBe(7);
    cache.deleteWhere((key) => key.startsWith('p1/'));
    expect(cache.byteSize).toBe(2);
    cache.delete('p2/b');
    expect(cache.byteSize).toBe(0);
    expect(cache.size).toBe(0);
  });
});
