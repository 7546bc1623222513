import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getAllDataTypes, loadDataType, tryGetProfile } from '@medplum/core';
import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';
import { CareLedgerError } from '../../errors/index.js';

/**
 * A slicing Medplum 4.5 cannot evaluate: a `profile` discriminator (R4 profiling.html#discriminator).
 * Those on `resource` (Bundle.entry in IPS) are checked by validateProfile; those on `resolve()`
 * (Composition.section.entry, DiagnosticReport.result) need the referenced resource and are skipped.
 */
export interface ResourceSlicing {
  /** The sliced element's JSON name under the profile's root, e.g. `entry`. */
  readonly element: string;
  readonly slices: readonly ResourceSlice[];
}

export interface ResourceSlice {
  readonly name: string;
  readonly min: number;
  /** `Infinity` for `*`. */
  readonly max: number;
  /** The resource type the slice holds (`Composition`) and the profiles it must conform to. */
  readonly resourceType: string | undefined;
  readonly profiles: readonly string[];
}

/** A StructureDefinition constraining a resource, indexed in Medplum and ready to validate against. */
export interface LoadedProfile {
  readonly url: string;
  readonly version: string | undefined;
  /** The resource type it constrains (`Patient`). */
  readonly type: string;
  /** What Medplum validates: the StructureDefinition without the slicings it cannot evaluate. */
  readonly structureDefinition: StructureDefinition;
  /**
   * The data type name under which Medplum's index holds the parsed profile, for
   * `validateTypedValue({ type: schemaKey, value })`. Medplum's `validateResource(r, { profile })`
   * re-parses the snapshot on every call: 14 ms for us-core-medicationrequest, 26 ms per resource.
   */
  readonly schemaKey: string;
  readonly resourceSlicings: readonly ResourceSlicing[];
  /** Element ids of slicings that are not checked (`resolve()` discriminators, slicings in slices). */
  readonly uncheckedSlicings: readonly string[];
}

/**
 * The profiles this process validates against. Medplum's schema index, which the profiles' data types
 * land in, is module-global, so one registry per process (see docs/decisions/0004-fhir-validation.md).
 */
export class ProfileRegistry {
  private readonly byUrl = new Map<string, LoadedProfile[]>();

  /** `folders` are read on first use: the vendored IPS alone is 5 MB, 2 s to index. */
  constructor(private pendingFolders: readonly string[] = []) {}

  private loadPending(): void {
    const folders = this.pendingFolders;
    if (folders.length === 0) return;
    this.pendingFolders = [];
    for (const folder of folders) loadProfileFolder(this, folder);
  }

  /**
   * Indexes StructureDefinitions (each with a snapshot). Data type profiles (`Coding-uv-ips`) and
   * extensions are indexed for Medplum; resource profiles can then be validated against. Returns the
   * canonical URLs loaded. Throws ERR_CONFIG naming the first unusable definition.
   */
  add(definitions: readonly unknown[]): string[] {
    this.loadPending();
    const loaded: string[] = [];
    for (const candidate of definitions) {
      const sd = candidate as StructureDefinition;
      if (sd?.resourceType !== 'StructureDefinition' || typeof sd.url !== 'string') continue;
      if (sd.kind === 'logical') continue;
      if (sd.snapshot?.element === undefined || sd.snapshot.element.length === 0) {
        throw new CareLedgerError('ERR_CONFIG', `profile ${sd.url} has no snapshot`);
      }
      const prepared = prepareForMedplum(sd);
      try {
        loadDataType(prepared.structureDefinition);
      } catch (error) {
        throw new CareLedgerError('ERR_CONFIG', `profile ${sd.url} cannot be loaded`, { cause: error });
      }
      const schema = tryGetProfile(sd.url);
      if (sd.kind === 'resource' && typeof sd.type === 'string' && schema !== undefined) {
        // A name no FHIR type can have, so it shadows nothing in Medplum's index.
        const schemaKey = `careledger-profile:${sd.url}|${sd.version ?? ''}`;
        getAllDataTypes()[schemaKey] = schema;
        const profile: LoadedProfile = {
          url: sd.url,
          version: sd.version,
          type: sd.type,
          schemaKey,
          ...prepared,
        };
        const versions = (this.byUrl.get(sd.url) ?? []).filter((p) => p.version !== sd.version);
        this.byUrl.set(sd.url, [...versions, profile]);
      }
      loaded.push(sd.url);
    }
    return loaded;
  }

  /** A canonical `url` or `url|version`; without a version, the last loaded. */
  get(canonical: string): LoadedProfile | undefined {
    this.loadPending();
    const bar = canonical.indexOf('|');
    const url = bar === -1 ? canonical : canonical.slice(0, bar);
    const versions = this.byUrl.get(url);
    if (versions === undefined) return undefined;
    if (bar === -1) return versions[versions.length - 1];
    const version = canonical.slice(bar + 1);
    return versions.find((p) => p.version === version);
  }

  /** Canonical URLs of the resource profiles, sorted. */
  urls(): string[] {
    this.loadPending();
    return [...this.byUrl.keys()].sort();
  }
}

/** The profile packages vendored in this repository (src/fhir/profiles/<name>/SOURCE.md). */
export const BUILT_IN_PROFILE_PACKAGES = ['ips', 'us-core'] as const;
export type BuiltInProfilePackage = (typeof BUILT_IN_PROFILE_PACKAGES)[number];

/** The folder of a vendored package; the JSON stays in src/ when dist/ is compiled from it. */
export function builtInProfileFolder(name: BuiltInProfilePackage): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const folder = join(here, name);
  return existsSync(folder) ? folder : join(here.replace(/([/\\])dist([/\\])/, '$1src$2'), name);
}

/**
 * Reads every `*.json` of a folder: a StructureDefinition, a Bundle of them, or an array of them (an
 * unpacked FHIR NPM package's `package/` folder works). Other resources are ignored.
 */
export function loadProfileFolder(registry: ProfileRegistry, folder: string): string[] {
  let files: string[];
  try {
    files = readdirSync(folder).filter((file) => file.endsWith('.json') && file !== 'package.json');
  } catch (error) {
    throw new CareLedgerError('ERR_CONFIG', `cannot read the profile folder ${folder}`, { cause: error });
  }
  const definitions: unknown[] = [];
  for (const file of files.sort()) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(join(folder, file), 'utf8'));
    } catch (error) {
      throw new CareLedgerError('ERR_CONFIG', `profile file ${file} is not JSON`, { cause: error });
    }
    if (Array.isArray(json)) definitions.push(...json);
    else if ((json as { resourceType?: unknown })?.resourceType === 'Bundle') {
      const entries = (json as { entry?: { resource?: unknown }[] }).entry ?? [];
      definitions.push(...entries.map((entry) => entry?.resource));
    } else definitions.push(json);
  }
  // Data types and extensions first: resource profiles refer to them.
  const rank = (sd: unknown) => ((sd as StructureDefinition)?.kind === 'resource' ? 1 : 0);
  return registry.add(definitions.sort((a, b) => rank(a) - rank(b)));
}

const MEDPLUM_DISCRIMINATORS = new Set(['value', 'pattern', 'type']);

/**
 * Medplum 4.5.2 throws on `profile` and `exists` discriminators, and misreads a slicing nested in a
 * slice. Their slicings (the sliced element and
 * every element of its slices) are taken out of the copy Medplum sees; those on `resource` are kept
 * as {@link ResourceSlicing}s for our own check. A `type` discriminator on `resource` or `resolve()`
 * is taken out too: Medplum compares it with the slice's own type (BackboneElement), never a match.
 */
function prepareForMedplum(sd: StructureDefinition): {
  structureDefinition: StructureDefinition;
  resourceSlicings: ResourceSlicing[];
  uncheckedSlicings: string[];
} {
  const elements = sd.snapshot?.element ?? [];
  const removed = new Set<string>();
  const resourceSlicings: ResourceSlicing[] = [];
  const uncheckedSlicings: string[] = [];
  const kept: ElementDefinition[] = [];
  const root = elements[0]?.path ?? '';
  for (const element of elements) {
    const id = element.id ?? element.path ?? '';
    if ([...removed].some((prefix) => id.startsWith(`${prefix}:`))) continue;
    // Medplum resolves a contentReference by path, which inside a slice finds the last slice of that
    // path and starts a bogus slice (IPS section:sectionProblems.section, 0..0, became the slice).
    if (element.contentReference !== undefined && id.includes(':')) {
      uncheckedSlicings.push(id);
      continue;
    }
    const discriminators = element.slicing?.discriminator ?? [];
    const unsupported =
      // Medplum's parser takes a slicing inside a slice (IPS section:sectionProblems.extension) for
      // slices of the outer one, and then no section matches its slice.
      (element.slicing !== undefined && id.includes(':')) ||
      discriminators.some(
        (d) =>
          !MEDPLUM_DISCRIMINATORS.has(d.type ?? '') ||
          (d.type === 'type' && (d.path === 'resource' || d.path === 'resolve()')),
      );
    if (!unsupported) {
      kept.push(element);
      continue;
    }
    removed.add(id);
    const { slicing: _dropped, ...unsliced } = element;
    kept.push(unsliced);
    const onResource = discriminators.every((d) => d.path === 'resource');
    const element_ = (element.path ?? '').slice(root.length + 1);
    if (onResource && !element_.includes('.')) {
      resourceSlicings.push({ element: element_, slices: slicesOf(elements, id) });
    } else {
      uncheckedSlicings.push(id);
    }
  }
  return {
    structureDefinition: { ...sd, snapshot: { ...sd.snapshot, element: kept } },
    resourceSlicings,
    uncheckedSlicings,
  };
}

function slicesOf(elements: readonly ElementDefinition[], slicedId: string): ResourceSlice[] {
  return elements
    .filter((e) => e.sliceName !== undefined && e.id === `${slicedId}:${e.sliceName}`)
    .map((slice) => {
      const resource = elements.find((e) => e.id === `${slice.id}.resource`);
      const type = resource?.type?.[0];
      return {
        name: slice.sliceName as string,
        min: slice.min ?? 0,
        max: slice.max === undefined || slice.max === '*' ? Number.POSITIVE_INFINITY : Number(slice.max),
        resourceType: type?.code,
        profiles: type?.profile ?? [],
      };
    });
}
