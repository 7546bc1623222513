import { R4_RESOURCE_TYPES, type R4ResourceType } from './r4-resource-types.generated.js';

export {
  COMPARTMENT_LISTED_TYPES,
  PATIENT_COMPARTMENT_PARAMS,
  R4_RESOURCE_TYPES,
  type R4ResourceType,
} from './r4-resource-types.generated.js';

/**
 * R4 types a server answers with but does not keep as records:
 * - Parameters: "there is no RESTful endpoint associated with it" (R4 parameters.html, Scope); it is
 *   also the only R4 type the Patient CompartmentDefinition does not list.
 * - OperationOutcome: the outcome of an interaction, "not designed to be persisted" (R4
 *   operationoutcome.html, Scope and Usage); the node returns them, never stores them.
 * Bundle is kept: R4 gives it a RESTful endpoint so that documents (§3.3) can be stored as a whole.
 */
export const UNSTORED_RESOURCE_TYPES = [
  'Parameters',
  'OperationOutcome',
] as const satisfies readonly R4ResourceType[];

export type StoredResourceType = Exclude<R4ResourceType, (typeof UNSTORED_RESOURCE_TYPES)[number]>;

const unstored: ReadonlySet<string> = new Set(UNSTORED_RESOURCE_TYPES);

/** Every R4 type the vault stores, versions, seals, indexes and serves (144 of the 146). */
export const STORED_RESOURCE_TYPES: readonly StoredResourceType[] = R4_RESOURCE_TYPES.filter(
  (type): type is StoredResourceType => !unstored.has(type),
);

const stored: ReadonlySet<string> = new Set(STORED_RESOURCE_TYPES);

export function isStoredResourceType(value: string): value is StoredResourceType {
  return stored.has(value);
}
