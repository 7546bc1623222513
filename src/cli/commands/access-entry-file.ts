import { join, resolve, sep } from 'node:path';
import type { Address } from 'viem';
import { CareLedgerError } from '../../errors/index.js';

/**
 * Where `patient view --save <dir>` keeps one access entry: `<dir>/<member>-<log index>` (then `.json`
 * and `.tlog-proof`). `<member>` is the first word of the member's registry name, which any voted-in
 * member chooses (security review F7: `../../x Clinic` wrote outside the folder): only its ASCII
 * letters, digits and inner hyphens are kept, else the member's address. The result is checked to lie
 * inside `dir`.
 */
export function accessEntryBase(
  dir: string,
  member: { readonly name: string; readonly address: Address },
  index: number | 'unverified',
): string {
  const word = (member.name.trim().split(/\s+/)[0] ?? '')
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  const label = word === '' ? member.address.toLowerCase() : word;
  const suffix =
    typeof index === 'number' && Number.isSafeInteger(index) && index >= 0 ? String(index) : 'unverified';
  const base = join(dir, `${label}-${suffix}`);
  // As the caller gave the folder (relative stays relative: the CLI prints it), but checked resolved.
  const folder = resolve(dir);
  if (!resolve(base).startsWith(folder === sep ? sep : folder + sep))
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      'an access entry file would lie outside the --save folder',
    );
  return base;
}
