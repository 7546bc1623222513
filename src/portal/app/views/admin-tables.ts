/**
 * The administration page's building blocks: facts as a description list, accessible tables, ages and
 * dates from the ledger's unix seconds, and the witnesses' cosignature times read from a checkpoint.
 */
import { h } from '../dom.js';

export function facts(entries: [string, unknown][]): HTMLElement {
  return h(
    'dl',
    { class: 'facts' },
    entries.flatMap(([k, v]) => [
      h('dt', {}, k),
      h('dd', {}, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v ?? '')),
    ]),
  );
}

export interface Proposal {
  readonly id: string;
  readonly kind: 'admission' | 'removal';
  readonly status: 'executed' | 'pending' | 'expired';
  readonly subject: string;
  readonly subjectName: string | null;
  readonly proposer: string;
  readonly proposerName: string | null;
  readonly votes: number;
  readonly threshold: number;
  readonly expiresAt: number;
  readonly voters: readonly { address: string; name: string | null }[];
  readonly blockNumber: number;
}

export interface Anchor {
  readonly treeSize: number;
  readonly anchoredAt: number;
  readonly blockNumber: number;
  readonly txHash: string;
}

/** "42 s ago", "3 min ago", "5 h ago", "2 d ago" from unix seconds. */
export function ago(unixSeconds: number | undefined): string {
  if (unixSeconds === undefined || !Number.isFinite(unixSeconds)) return 'unknown';
  const s = Math.max(0, Math.round(Date.now() / 1000 - unixSeconds));
  if (s < 120) return `${s} s ago`;
  if (s < 7_200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3_600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

export function dateOf(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

export type Cell = Node | string;

/**
 * An accessible table: a caption naming it, column headers with scope, the first cell a row header. On
 * a phone each row is a card (class `stack`, styles.css): the row header its title, each other cell
 * labelled with its column, empty cells left out (issue 22: cards, not sideways scrolling).
 */
export function table(
  id: string,
  caption: string,
  headers: string[],
  rows: Cell[][],
  empty: string,
): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { id, class: 'stack' },
      h('caption', {}, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          headers.map((x) => h('th', { scope: 'col' }, x)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.length === 0
          ? h('tr', {}, h('td', { colspan: String(headers.length), 'data-label': '' }, empty))
          : rows.map(([first, ...rest]) =>
              h(
                'tr',
                {},
                h('th', { scope: 'row' }, first),
                rest.map((cell, i) =>
                  h(
                    'td',
                    { 'data-label': headers[i + 1] ?? '', class: cell === '' ? 'no-value' : undefined },
                    cell,
                  ),
                ),
              ),
            ),
      ),
    ),
  );
}

/** The cosignature/v1 timestamps (c2sp.org/tlog-cosignature: key hash, 8-byte big-endian seconds, signature). */
export function cosignatureTimes(signatureLines: readonly string[]): number[] {
  return signatureLines.flatMap((line) => {
    try {
      const bytes = Uint8Array.from(atob(line.split(' ')[2] ?? ''), (ch) => ch.charCodeAt(0));
      if (bytes.length !== 4 + 8 + 64) return []; // a plain Ed25519 note signature has no timestamp
      return [Number(new DataView(bytes.buffer).getBigUint64(4))];
    } catch {
      return [];
    }
  });
}
