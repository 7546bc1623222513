import { describe, expect, it } from 'vitest';
import { suppressSmallCells } from './suppress-small-cells.js';

const cells = (...counts: number[]) => counts.map((count, i) => ({ cell: `c${i}`, count }));
const shown = (table: { cells: readonly { count: number | null }[] }) => table.cells.map((c) => c.count);

describe('small-cell suppression with complementary suppression', () => {
  it('hides a second cell when one hidden cell would be the total minus the others', () => {
    // Without the complement, 15 − 12 gives the 3 back.
    const table = suppressSmallCells(cells(12, 3), 15, 5);
    expect(table.total).toBe(15);
    expect(shown(table)).toEqual([null, null]);
  });

  it('takes the smallest released cell as the complement and keeps the rest', () => {
    const table = suppressSmallCells(cells(40, 2, 9, 25), 76, 5);
    expect(shown(table)).toEqual([40, null, null, 25]);
    expect(table.total).toBe(76);
  });

  it('adds complements until the hidden cells hold k together (two 1s would be read as 1 and 1)', () => {
    const table = suppressSmallCells(cells(30, 1, 1, 6, 7), 45, 5);
    // 1 + 1 = 2 < 5: the 6 is hidden as well (8 ≥ 5).
    expect(shown(table)).toEqual([30, null, null, null, 7]);
  });

  it('leaves a table with no small cell alone, and withholds everything below k', () => {
    expect(shown(suppressSmallCells(cells(5, 6), 11, 5))).toEqual([5, 6]);
    const few = suppressSmallCells(cells(2, 1), 3, 5);
    expect(few.total).toBeNull();
    expect(shown(few)).toEqual([null, null]);
  });
});
