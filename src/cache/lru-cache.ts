/**
 * A least-recently-used map bounded by entries and by an estimate of the bytes it holds, for the
 * request path's caches (docs/decisions/0017-hot-path-caches.md). Each cache decides what a value
 * costs (`sizeOf`); nothing here knows what is cached or when it goes stale: invalidation is the
 * owner's (`delete`, `deleteWhere`, `clear`).
 */
export interface LruCacheOptions<V> {
  readonly maxEntries: number;
  /** Upper bound of the sum of `sizeOf` over the entries (bytes, estimated); none if omitted. */
  readonly maxBytes?: number;
  readonly sizeOf?: (value: V, key: string) => number;
}

export class LruCache<V> {
  private readonly entries = new Map<string, { value: V; size: number }>();
  private bytes = 0;

  constructor(private readonly options: LruCacheOptions<V>) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1)
      throw new RangeError('maxEntries must be a positive integer');
  }

  get size(): number {
    return this.entries.size;
  }

  /** The estimated bytes held (0 when no `sizeOf` was given). */
  get byteSize(): number {
    return this.bytes;
  }

  /** The value, now the most recently used, or undefined. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V): void {
    const size = this.options.sizeOf?.(value, key) ?? 0;
    this.delete(key);
    // A value larger than the whole budget is not kept (it would evict everything else).
    if (this.options.maxBytes !== undefined && size > this.options.maxBytes) return;
    this.entries.set(key, { value, size });
    this.bytes += size;
    for (const [oldest, entry] of this.entries) {
      const over =
        this.entries.size > this.options.maxEntries ||
        (this.options.maxBytes !== undefined && this.bytes > this.options.maxBytes);
      if (!over) break;
      this.entries.delete(oldest);
      this.bytes -= entry.size;
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.bytes -= entry.size;
  }

  /** Removes every entry whose key or value `matches` (a linear scan: for rare invalidations). */
  deleteWhere(matches: (key: string, value: V) => boolean): void {
    for (const [key, entry] of this.entries) if (matches(key, entry.value)) this.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}
