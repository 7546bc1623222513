import { createReadStream, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { CareLedgerError } from '../../errors/index.js';
import { type KeptReference, rewriteBundleReferences } from '../../fhir/bundle/index.js';

/** An input file, identified as the resumption state keys it. */
export interface ImportFile {
  readonly path: string;
  readonly kind: 'json' | 'ndjson';
  readonly size: number;
  readonly mtimeMs: number;
}

interface ItemPlace {
  /** Position in the file: bundle entry index, or the ordinal of the non-blank NDJSON line (0-based). */
  readonly index: number;
  /** NDJSON: 1-based line number. */
  readonly line?: number;
  /** JSON: the Bundle entry index (absent for a file holding a single resource). */
  readonly entry?: number;
}

/** A resource to write with PUT `<Type>/<id>`. */
export interface ResourceItem extends ItemPlace {
  readonly resourceType: string;
  readonly id: string;
  readonly resource: Record<string, unknown>;
}

/** Input at that place that is not a resource that can be written, and why. */
export interface InvalidItem extends ItemPlace {
  readonly resourceType?: string;
  readonly id?: string;
  readonly invalid: string;
}

export type ImportItem = ResourceItem | InvalidItem;

/** What reading a file found besides the items. */
export interface SourceNotes {
  conditionalReferences: number;
  unresolvedReferences: number;
}

/**
 * A bulk-data export's log (FHIR Bulk Data Access, `log.ndjson`) lists export events, not resources.
 * It is skipped when a folder is imported.
 */
const NOT_FHIR_FILES = new Set(['log.ndjson']);

/** The files to import: each argument as a file, or every *.json / *.ndjson of a folder, sorted. */
export function listImportFiles(inputs: readonly string[]): { files: ImportFile[]; ignored: string[] } {
  const files: ImportFile[] = [];
  const ignored: string[] = [];
  for (const input of inputs) {
    const path = resolve(input);
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(path);
    } catch (cause) {
      throw new CareLedgerError('ERR_NOT_FOUND', `no such file or folder: ${input}`, { cause });
    }
    if (stat.isDirectory()) {
      const names = readdirSync(path)
        .filter((name) => /\.(?:json|ndjson)$/.test(name))
        .sort();
      for (const name of names) {
        if (NOT_FHIR_FILES.has(name)) {
          ignored.push(join(path, name));
          continue;
        }
        const file = join(path, name);
        const s = statSync(file);
        if (s.isFile()) files.push(describe(file, s));
      }
    } else {
      files.push(describe(path, stat));
    }
  }
  return { files, ignored };
}

function describe(path: string, stat: { size: number; mtimeMs: number }): ImportFile {
  return {
    path,
    kind: extname(path) === '.ndjson' ? 'ndjson' : 'json',
    size: stat.size,
    mtimeMs: stat.mtimeMs,
  };
}

/** Bytes NDJSON treats as blank (a line holding only these is not a resource). */
const isBlankByte = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a;
const isBlankLine = (line: string): boolean => /^[ \t\r]*$/.test(line);

/**
 * How many items a file holds, without keeping it in memory: NDJSON is streamed and its non-blank
 * lines counted; a JSON file is parsed (a Bundle is one document: it has to be read whole anyway).
 */
export async function countImportItems(file: ImportFile): Promise<number> {
  if (file.kind === 'json') {
    const parsed = parseJsonFile(file.path);
    return isBundle(parsed) ? (parsed.entry?.length ?? 0) : 1;
  }
  let count = 0;
  let lineHasContent = false;
  for await (const chunk of createReadStream(file.path)) {
    for (const byte of chunk as Buffer) {
      if (byte === 0x0a) {
        if (lineHasContent) count++;
        lineHasContent = false;
      } else if (!isBlankByte(byte)) {
        lineHasContent = true;
      }
    }
  }
  return lineHasContent ? count + 1 : count;
}

function parseJsonFile(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8').replace(/^\uFEFF/, '')) as unknown;
  } catch (cause) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `${basename(path)} is not JSON`, { cause });
  }
}

function isBundle(value: unknown): value is { resourceType: 'Bundle'; entry?: unknown[] } {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { resourceType?: unknown }).resourceType === 'Bundle' &&
    ((value as { entry?: unknown }).entry === undefined ||
      Array.isArray((value as { entry?: unknown }).entry))
  );
}

/**
 * The file's items in order, skipping those `skip` says are done (without parsing them, for NDJSON).
 * NDJSON is read chunk by chunk as the consumer pulls, so memory stays bounded by one line.
 */
export async function* readImportItems(
  file: ImportFile,
  skip: (index: number) => boolean,
  notes: SourceNotes,
): AsyncGenerator<ImportItem> {
  if (file.kind === 'json') {
    yield* readJsonItems(file, skip, notes);
    return;
  }
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let lineNumber = 0;
  let index = 0;
  const toItem = function* (text: string): Generator<ImportItem> {
    lineNumber++;
    const line = lineNumber === 1 ? text.replace(/^\uFEFF/, '') : text;
    if (isBlankLine(line)) return;
    const at = index++;
    if (skip(at)) return;
    yield parseNdjsonLine(line, at, lineNumber, notes);
  };
  for await (const chunk of createReadStream(file.path)) {
    pending += decoder.write(chunk as Buffer);
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      yield* toItem(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
  }
  pending += decoder.end();
  if (pending !== '') yield* toItem(pending);
}

function parseNdjsonLine(line: string, index: number, lineNumber: number, notes: SourceNotes): ImportItem {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { index, line: lineNumber, invalid: 'the line is not JSON' };
  }
  return toResourceItem(value, { index, line: lineNumber }, notes);
}

function toResourceItem(
  value: unknown,
  place: { index: number; line?: number; entry?: number },
  notes: SourceNotes,
): ImportItem {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ...place, invalid: 'not a FHIR resource (not a JSON object)' };
  const resource = value as Record<string, unknown>;
  const resourceType = typeof resource.resourceType === 'string' ? resource.resourceType : undefined;
  if (resourceType === undefined) return { ...place, invalid: 'not a FHIR resource (no resourceType)' };
  const id = resource.id;
  if (typeof id !== 'string' || !/^[A-Za-z0-9\-.]{1,64}$/.test(id))
    return { ...place, resourceType, invalid: 'the resource has no valid id (it is written with PUT)' };
  notes.conditionalReferences += countConditionalReferences(resource);
  return { ...place, resourceType, id, resource };
}

function countConditionalReferences(value: unknown): number {
  if (Array.isArray(value)) return value.reduce<number>((n, item) => n + countConditionalReferences(item), 0);
  if (typeof value !== 'object' || value === null) return 0;
  let n = 0;
  for (const [key, child] of Object.entries(value)) {
    if (key === 'reference' && typeof child === 'string') n += /^[A-Z][A-Za-z]+\?/.test(child) ? 1 : 0;
    else n += countConditionalReferences(child);
  }
  return n;
}

function* readJsonItems(
  file: ImportFile,
  skip: (index: number) => boolean,
  notes: SourceNotes,
): Generator<ImportItem> {
  const parsed = parseJsonFile(file.path);
  if (!isBundle(parsed)) {
    if (!skip(0)) yield toResourceItem(parsed, { index: 0 }, notes);
    return;
  }
  const rewritten = rewriteBundleReferences(parsed);
  const note = (found: readonly KeptReference[]) => found.length;
  notes.conditionalReferences += note(rewritten.conditionalReferences);
  notes.unresolvedReferences += note(rewritten.unresolvedReferences);
  const byIndex = new Map<number, ImportItem>();
  for (const entry of rewritten.entries) {
    byIndex.set(entry.index, {
      index: entry.index,
      entry: entry.index,
      resourceType: entry.resourceType,
      id: entry.id,
      resource: entry.resource,
    });
  }
  for (const unusable of rewritten.unusable) {
    byIndex.set(unusable.index, {
      index: unusable.index,
      entry: unusable.index,
      invalid:
        unusable.reason === 'no-resource'
          ? 'the entry has no resource (only entries that create or update a resource are imported)'
          : 'the entry resource has no resourceType',
    });
  }
  for (let index = 0; index < (parsed.entry?.length ?? 0); index++) {
    const item = byIndex.get(index);
    if (item !== undefined && !skip(index)) yield item;
  }
}
