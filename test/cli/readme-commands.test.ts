import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findMissingLine, parseCheckedBlocks, substitute } from './readme-commands.js';

const sample = [
  'Some prose.',
  '',
  '   ```sh checked',
  '   HP=$(node -p "1")   # her id',
  '   npx careledger records pull $HP \\',
  '     --token "$DR"',
  '   #   Lab: refused (…)',
  '   #   (exit 77)',
  '   # a comment, not output',
  '   npx careledger patient view --save view/',
  '   #   records: <n> (<n> verified)',
  '   #   … proof verified (view/<entry>.tlog-proof)',
  '   ```',
  '',
  '```sh',
  'npm start   # not checked',
  '```',
].join('\n');

describe('README checked blocks', () => {
  it('parses commands, assignments, expected lines and exit codes of the blocks marked checked', () => {
    expect(parseCheckedBlocks(sample)).toEqual([
      {
        line: 3,
        commands: [
          { line: 4, command: 'HP=$(node -p "1")', assigns: 'HP', expected: [], exitCode: 0 },
          {
            line: 5,
            command: 'npx careledger records pull $HP --token "$DR"',
            expected: ['Lab: refused (…)'],
            exitCode: 77,
          },
          {
            line: 10,
            command: 'npx careledger patient view --save view/',
            expected: ['records: <n> (<n> verified)', '… proof verified (view/<entry>.tlog-proof)'],
            exitCode: 0,
          },
        ],
      },
    ]);
  });

  it('matches expected lines in order, with … and <n>, and remembers <name> values', () => {
    const values = new Map<string, string>();
    const output =
      'records: 175 (175 verified)\n  x\n  2026 Lab: REFUSED; proof verified (view/northside-89.tlog-proof)\n';
    expect(
      findMissingLine(
        ['records: <n> (<n> verified)', '… proof verified (view/<entry>.tlog-proof)'],
        output,
        values,
      ),
    ).toBeUndefined();
    expect(values.get('entry')).toBe('northside-89');
    expect(substitute('proof verify view/<entry>.tlog-proof <other>', values)).toBe(
      'proof verify view/northside-89.tlog-proof <other>',
    );
    // Order matters, whole lines only, and a remembered value must match again.
    expect(findMissingLine(['… proof verified …', 'records: <n> (<n> verified)'], output, values)).toBe(
      'records: <n> (<n> verified)',
    );
    expect(findMissingLine(['records: 17'], output, values)).toBe('records: 17');
    expect(findMissingLine(['… (view/<entry>.tlog-proof)'], output.replace('-89', '-90'), values)).toBe(
      '… (view/<entry>.tlog-proof)',
    );
  });

  it('finds the checked blocks of the README', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const blocks = parseCheckedBlocks(readme);
    expect(blocks.length).toBeGreaterThan(0);
    expect(blocks.flatMap((b) => b.commands).some((c) => c.expected.length > 0)).toBe(true);
  });
});
