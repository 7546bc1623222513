import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFhirBase, parseRetryAfter } from '../../src/cli/commands/import.js';
import { countImportItems, listImportFiles, readImportItems } from '../../src/cli/commands/import-sources.js';
import { DoneRanges, loadImportState, saveImportState } from '../../src/cli/commands/import-state.js';

const dir = mkdtempSync(join(tmpdir(), 'careledger-import-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('DoneRanges', () => {
  it('holds exactly the indices added, in as few ranges as they allow', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(200)), (indices) => {
        const done = new DoneRanges();
        for (const i of indices) done.add(i);
        const set = new Set(indices);
        for (let i = 0; i <= 201; i++) expect(done.has(i)).toBe(set.has(i));
        expect(done.countBelow(1000)).toBe(set.size);
        const ranges = done.toJSON();
        for (let r = 1; r < ranges.length; r++)
          expect((ranges[r] as [number, number])[0]).toBeGreaterThan((ranges[r - 1] as [number, number])[1]);
        let contiguous = 0;
        while (set.has(contiguous)) contiguous++;
        expect(done.contiguous()).toBe(contiguous);
        expect(new DoneRanges(ranges).toJSON()).toEqual(ranges);
      }),
    );
  });
});

describe('the import state file', () => {
  it('round-trips, reads a missing file as empty, and names --restart when corrupt', () => {
    const file = join(dir, 'state', 'import-state.json');
    expect(loadImportState(file)).toEqual({ version: 1, files: [] });
    const state = {
      version: 1 as const,
      files: [
        {
          node: 'http://n/fhir',
          path: '/a.ndjson',
          size: 3,
          mtimeMs: 4,
          count: 9,
          done: [[0, 5]] as [number, number][],
        },
      ],
    };
    saveImportState(file, state);
    expect(loadImportState(file)).toEqual(state);
    writeFileSync(file, '{"version":1');
    expect(() => loadImportState(file)).toThrow(/corrupt; delete it or pass --restart/);
  });
});

describe('import inputs', () => {
  it('counts and reads NDJSON lines, skipping blank lines and the done ones, with line numbers', async () => {
    const file = join(dir, 'p.ndjson');
    writeFileSync(
      file,
      '\uFEFF{"resourceType":"Patient","id":"a"}\n\n  \r\n{"resourceType":"Patient","id":"b"}\r\nnot json\n{"resourceType":"Patient"}',
    );
    const [input] = listImportFiles([file]).files;
    if (input === undefined) throw new Error('no file');
    expect(await countImportItems(input)).toBe(4);
    const notes = { conditionalReferences: 0, unresolvedReferences: 0 };
    const items = [];
    for await (const item of readImportItems(input, (i) => i === 0, notes)) items.push(item);
    expect(items).toEqual([
      { index: 1, line: 4, resourceType: 'Patient', id: 'b', resource: { resourceType: 'Patient', id: 'b' } },
      { index: 2, line: 5, invalid: 'the line is not JSON' },
      {
        index: 3,
        line: 6,
        resourceType: 'Patient',
        invalid: 'the resource has no valid id (it is written with PUT)',
      },
    ]);
  });

  it("lists a folder's *.json and *.ndjson sorted, leaving out a bulk export's log.ndjson", () => {
    const folder = join(dir, 'folder');
    mkdirSync(folder);
    for (const name of ['b.ndjson', 'a.json', 'log.ndjson', 'notes.txt'])
      writeFileSync(join(folder, name), '');
    const { files, ignored } = listImportFiles([folder]);
    expect(files.map((f) => [f.path, f.kind])).toEqual([
      [join(folder, 'a.json'), 'json'],
      [join(folder, 'b.ndjson'), 'ndjson'],
    ]);
    expect(ignored).toEqual([join(folder, 'log.ndjson')]);
    expect(() => listImportFiles([join(dir, 'missing')])).toThrow(/no such file or folder/);
  });
});

describe('import helpers', () => {
  it('finds the FHIR base of a node URL with or without /fhir', () => {
    expect(parseFhirBase('http://127.0.0.1:8701')).toBe('http://127.0.0.1:8701/fhir');
    expect(parseFhirBase('http://127.0.0.1:8701/fhir/')).toBe('http://127.0.0.1:8701/fhir');
    expect(() => parseFhirBase('ftp://x')).toThrow(/not an http\(s\) URL/);
  });

  it('reads Retry-After as seconds or as an HTTP date (RFC 9110 §10.2.3)', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
