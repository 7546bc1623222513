import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { expect, test } from 'vitest';

// Dependencies point inward (docs/architecture.md, "The FHIR vault"): access is the policy and asks
// consent through an interface it declares; consent asks the vault through an interface it declares;
// the vault's gateway uses both. Any import the other way round would make a circle again.

const SRC = resolve(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

/** Each source file (relative to src) and the relative files it imports or re-exports from. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g)].map(
      (m) => relative(SRC, resolve(dirname(file), m[1] as string)).replace(/\.js$/, '.ts'),
    );
    graph.set(relative(SRC, file), targets);
  }
  return graph;
}

const folder = (path: string) => path.split('/')[0];

test.each([
  ['access', 'consent'],
  ['access', 'vault'],
  ['consent', 'vault'],
])('%s imports nothing from %s', (from, to) => {
  const offending = [...importGraph()].flatMap(([file, targets]) =>
    folder(file) === from ? targets.filter((t) => folder(t) === to).map((t) => `${file} -> ${t}`) : [],
  );
  expect(offending).toEqual([]);
});

test('no import cycle among the source files', () => {
  const graph = importGraph();
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      cycles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
      return;
    }
    state.set(file, 'open');
    for (const target of graph.get(file) ?? []) if (graph.has(target)) visit(target, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file, []);
  expect(cycles).toEqual([]);
});
