/**
 * Small-cell suppression of a table of counts that is released with its total: primary suppression
 * (every cell below k) and complementary suppression, so that the total minus the released cells
 * cannot give a suppressed cell back (decision 0035 §3).
 *
 * A listed cell holds at least one patient (empty cells are not listed), so with one suppressed cell
 * the total minus the released cells is that cell's count, and with m suppressed cells summing to
 * S = m every one of them is 1. The rule, as statistical agencies state it for tables released with
 * their totals: a table with any suppressed cell must have at least two, and the suppressed cells
 * together must hold at least k patients (so what subtraction gives is itself not a small group).
 * While that fails, the smallest released cell is suppressed as well (the least information lost);
 * when no released cell is left, the total is withheld too.
 */

export interface CountCell {
  readonly count: number;
}

export interface SuppressedTable<C> {
  /** Null when suppressed, below k or to protect the other suppressed cells. */
  readonly total: number | null;
  readonly cells: readonly (Omit<C, 'count'> & { readonly count: number | null })[];
}

function isProtected(suppressedSum: number, suppressedCells: number, k: number): boolean {
  return suppressedCells === 0 || (suppressedCells >= 2 && suppressedSum >= k);
}

/** `cells` hold non-zero counts whose sum is `total`; k ≥ 2. Cells keep their order. */
export function suppressSmallCells<C extends CountCell>(
  cells: readonly C[],
  total: number,
  k: number,
): SuppressedTable<C> {
  const suppressed = cells.map((cell) => cell.count < k);
  if (total < k) return { total: null, cells: cells.map((cell) => ({ ...cell, count: null })) };
  for (;;) {
    const hidden = cells.filter((_, i) => suppressed[i]);
    const hiddenSum = hidden.reduce((sum, cell) => sum + cell.count, 0);
    if (isProtected(hiddenSum, hidden.length, k)) break;
    let smallest = -1;
    cells.forEach((cell, i) => {
      if (!suppressed[i] && (smallest < 0 || cell.count < (cells[smallest] as C).count)) smallest = i;
    });
    if (smallest < 0) {
      // Every cell is hidden and still unprotected: withhold the total as well.
      return { total: null, cells: cells.map((cell) => ({ ...cell, count: null })) };
    }
    suppressed[smallest] = true;
  }
  return {
    total,
    cells: cells.map((cell, i) => ({ ...cell, count: suppressed[i] ? null : cell.count })),
  };
}
