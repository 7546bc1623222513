import {
  getAllDataTypes,
  type InternalTypeSchema,
  indexDefaultSearchParameters,
  loadDataType,
  parseStructureDefinition,
} from '@medplum/core';
import type { StructureDefinition } from '@medplum/fhirtypes';

/**
 * Medplum's `indexStructureDefinitionBundle`, with each R4 type parsed on first use instead of all
 * ~650 at start-up (about 450 ms of CPU per node process; a node's requests touch a few dozen types).
 *
 * Medplum keeps its parsed types in one module-global object (`getAllDataTypes()`), read by name
 * (`getDataType`, `tryGetDataType`, FHIRPath's typed property lookup). Each name an R4
 * StructureDefinition will write there gets an accessor that parses that StructureDefinition with
 * Medplum's own `loadDataType` when the name is first read; `loadDataType` then replaces the
 * accessors with the parsed schemas. The index ends up holding what the eager load puts there,
 * checked name by name in index-structure-definitions-lazily.test.ts (decision 0046).
 */

/** Medplum's TYPE_SPECIAL_CASES: profiles it indexes as base types, under their name. */
const SPECIAL_CASES: Readonly<Record<string, string>> = {
  'http://hl7.org/fhir/StructureDefinition/MoneyQuantity': 'MoneyQuantity',
  'http://hl7.org/fhir/StructureDefinition/SimpleQuantity': 'SimpleQuantity',
};

/**
 * The names Medplum's `loadDataType(sd)` writes into its base type index (the type, then its
 * BackboneElement types, e.g. `Patient`, `PatientContact`, `PatientCommunication`, `PatientLink`),
 * or `null` when it indexes the definition as a profile by URL. Parses the definition: computed once,
 * when the compact copy is built.
 */
export function baseDataTypeNames(sd: StructureDefinition): string[] | null {
  const special = SPECIAL_CASES[sd.url];
  if (special === undefined && sd.url !== `http://hl7.org/fhir/StructureDefinition/${sd.type}`) return null;
  const schema = parseStructureDefinition(sd);
  return [special ?? sd.type, ...schema.innerTypes.map((inner) => inner.name)];
}

function isAccessor(target: object, name: string): boolean {
  return Object.getOwnPropertyDescriptor(target, name)?.get !== undefined;
}

/**
 * Indexes `sds` (in order) as `indexStructureDefinitionBundle` does, parsing lazily those whose
 * `names[i]` (from {@link baseDataTypeNames}) is given and claimed by no other definition; the rest
 * (profiles, and any two definitions writing one name) are parsed now, in order, as before.
 */
export function indexStructureDefinitionsLazily(
  sds: readonly StructureDefinition[],
  names: readonly (readonly string[] | null)[],
): void {
  indexDefaultSearchParameters([...sds]);
  const claims = new Map<string, number>();
  for (const own of names) for (const name of own ?? []) claims.set(name, (claims.get(name) ?? 0) + 1);
  const dataTypes = getAllDataTypes() as Record<string, InternalTypeSchema>;
  for (const [i, sd] of sds.entries()) {
    const own = names[i];
    if (own === null || own === undefined || own.some((name) => claims.get(name) !== 1)) {
      loadDataType(sd);
      continue;
    }
    let loaded = false;
    const load = (): void => {
      if (loaded) return;
      loaded = true;
      // A name written meanwhile by someone else (an operator's profile redefining a base type) keeps
      // that value, as when it was written after the eager load.
      const written = own
        .filter((name) => !isAccessor(dataTypes, name))
        .map((name) => [name, dataTypes[name]] as const);
      loadDataType(sd);
      for (const [name, value] of written) dataTypes[name] = value as InternalTypeSchema;
    };
    for (const name of own) {
      Object.defineProperty(dataTypes, name, {
        configurable: true,
        enumerable: true,
        get() {
          load();
          const descriptor = Object.getOwnPropertyDescriptor(dataTypes, name);
          return descriptor?.get === undefined ? descriptor?.value : undefined;
        },
        set(value: unknown) {
          Object.defineProperty(dataTypes, name, {
            configurable: true,
            enumerable: true,
            writable: true,
            value,
          });
        },
      });
    }
  }
}
