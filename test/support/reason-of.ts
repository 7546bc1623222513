import { CareLedgerError } from '../../src/errors/index.js';

/** `CODE:reason` of the CareLedgerError `fn` throws, or `ok`; anything else is rethrown. */
export function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof CareLedgerError) return `${e.code}:${String(e.details.reason)}`;
    throw e;
  }
  return 'ok';
}

/** What `fn` throws; fails the test if it returns. */
export function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
