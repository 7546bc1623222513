import type { Group, Resource } from '@medplum/fhirtypes';
import type { AccessContext } from '../audit/create-audit-event.js';

/** One page to read: current resources of one type, in the storage's keyset order. */
export interface ExportPageRequest {
  readonly resourceType: string;
  /** `_typeFilter` queries for the type (a resource must match one); empty: every resource. */
  readonly filters: readonly string[];
  /** Only resources updated after this instant (`_since`). */
  readonly since?: string;
  /** Only resources updated at or before this instant (the job's transactionTime). */
  readonly until: string;
  /**
   * Only resources in these patients' compartments; `'any'`: in any patient's compartment (Patient
   * level); undefined: every resource (system level).
   */
  readonly patients?: readonly string[] | 'any';
  /** The cursor the previous page returned; undefined for the first page. */
  readonly after?: string;
  /** At most this many stored resources are examined (and so decrypted) per page. */
  readonly limit: number;
  /** The job's: aborted when it is stopped or deleted (a source that waits, e.g. for a k round, stops). */
  readonly signal?: AbortSignal;
}

export interface ExportedResource {
  readonly resource: Resource;
  /** `resource` as JSON when the source has it already (the stored text, served unchanged). */
  readonly json?: string;
  /** The compartment's patient ('' for none). */
  readonly patientId: string;
  /** Seen through a break-glass window: the patient's export AuditEvent is marked. */
  readonly breakGlass: boolean;
}

export interface ExportPage {
  /** The resources of the page the requester may see and that match a filter, as served. */
  readonly resources: readonly ExportedResource[];
  /** Where the next page starts; undefined when the type is done. */
  readonly next?: string;
  /** For another member: patients with a refused resource, and why (audited as a refused attempt). */
  readonly refused?: readonly { readonly patientId: string; readonly reason: string }[];
  /** Stored resources that could not be served (one that fails to open); reported in `error[]`. */
  readonly skipped?: readonly {
    readonly resourceType: string;
    readonly id: string;
    readonly reason: string;
  }[];
}

/**
 * What bulk export needs from the vault: its access-checked, audited gateway, narrowed to export.
 * Every resource is judged by the same access policy, consent and scopes as a search's candidates;
 * the export is audited once per patient with the job's id (IHE BALP), not once per page.
 */
export interface ExportSource {
  /**
   * Kick-off admission: may the requester export these types at all (role, purpose, token scopes)?
   * A refusal is audited and thrown as ERR_FORBIDDEN.
   */
  admit(context: AccessContext, resourceTypes: readonly string[], entity: string): Promise<void>;
  /** Whether the requester's token reaches a type at all (a system export leaves the others out). */
  inScope(context: AccessContext, resourceType: string): boolean;
  readPage(context: AccessContext, request: ExportPageRequest): Promise<ExportPage>;
  /**
   * One AuditEvent per patient whose data the export delivered, naming the job in `entity`; with
   * `denied`, a refusal for a patient it delivered nothing of (another member without consent).
   */
  recordExport(
    context: AccessContext,
    entity: string,
    patients: readonly {
      readonly patientId: string;
      readonly breakGlass: boolean;
      readonly denied?: string;
    }[],
  ): Promise<void>;
  /**
   * Of these patients, those whose records of the type the requester may no longer see (another
   * member the patient no longer grants it for: revoked or expired); empty for anyone else. Asked at a
   * download and a status, so a file made before a revocation is not disclosed after it.
   */
  withdrawn(
    context: AccessContext,
    resourceType: string,
    patientIds: readonly string[],
  ): Promise<readonly string[]>;
  /** Reads a Group as an ordinary read (access-checked and audited); ERR_NOT_FOUND if there is none. */
  readGroup(context: AccessContext, groupId: string): Promise<Group>;
}
