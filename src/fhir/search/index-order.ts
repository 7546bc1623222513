import type { SearchPlan } from './plan-search.js';

/**
 * The order a plan's matches take when the storage gives it (last updated, then id), or undefined when
 * only the decrypted resources can be sorted. No `_sort` is that order (R4 §3.1.1.6 leaves the default
 * to the server); `_sort=_lastUpdated` is the same order, and `-_lastUpdated` its reverse on the first
 * key (ties stay by id, as sortResources' stable sort leaves them). Every version's `meta.lastUpdated`
 * is the stored column, written by the vault as an ISO instant, so text order is time order.
 */
export function indexOrder(plan: Pick<SearchPlan, 'sort'>): 'ascending' | 'descending' | undefined {
  if (plan.sort.length === 0) return 'ascending';
  const [rule] = plan.sort;
  if (plan.sort.length !== 1 || rule?.code !== '_lastUpdated') return undefined;
  return rule.descending === true ? 'descending' : 'ascending';
}
