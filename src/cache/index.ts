export { LruCache, type LruCacheOptions } from './lru-cache.js';
