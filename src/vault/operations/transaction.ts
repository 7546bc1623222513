import type { Resource } from '@medplum/fhirtypes';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import { assertPlausible } from '../../fhir/assert-plausible.js';
import { rewriteBundleReferences } from '../../fhir/bundle/index.js';
import { canonicalJson } from '../../fhir/canonical-json.js';
import { compartmentPatient } from '../../fhir/compartment/compartment-patient.js';
import { parseResource } from '../../fhir/validate-resource.js';
import { type BeforeWrite, writeAllWithPermits } from '../before-write.js';
import { keyOwner, type VersionWrite } from '../sealed-record-store.js';
import type { VaultCrypto } from '../vault-crypto.js';
import type { GatewayParts } from './gateway-parts.js';
import { verifyLedgerAddressWrite } from './link-ledger-address.js';
import { createYieldEvery } from './yield-every.js';

/** What a transaction did to one resource, in the order the vault wrote them. */
export interface TransactionResult {
  readonly type: string;
  readonly id: string;
  readonly versionId: number;
  readonly created: boolean;
  readonly deleted: boolean;
}

export interface TransactionDeps extends GatewayParts {
  /** Seals each version under its patient's data key. */
  readonly crypto: VaultCrypto;
  /** Told, once the transaction has committed, which resources it stored. */
  readonly notifyStored: (resources: readonly Resource[]) => void;
  /** Asked about every resource written, before the one commit (issue 19's dispense check). */
  readonly beforeWrite?: BeforeWrite;
}

interface TransactionEntry {
  fullUrl?: string;
  resource?: unknown;
  request?: { method?: string; url?: string };
}

/** One entry to write: a resource for POST and PUT, none for DELETE. */
interface PlannedWrite {
  readonly type: string;
  readonly id: string;
  readonly resource?: Resource;
  /** A POST: it creates, never replaces (R4 http.html#trules). */
  readonly create?: boolean;
}

const encoder = new TextEncoder();

/**
 * Entries validated, or indexed and sealed, between two turns of the event loop: about 1 to 3 ms of
 * work on this project's 2-core machine, so a read arriving during a large transaction waits for one
 * slice, not for the whole Bundle (issue 16). The commit itself stays one SQLite transaction.
 */
export const ENTRIES_PER_SLICE = 4;

/**
 * A FHIR transaction Bundle (R4 §3.1.0.11.2): every entry is validated and the bundle's `urn:uuid:`
 * references are rewritten (a POST entry keeps its urn:uuid as its id while that id is free: a POST
 * creates, R4 http.html#trules, so one whose urn:uuid or body id is in use gets a new id, and the
 * Bundle's references to it follow); then all versions and one AuditEvent per patient concerned commit
 * in one transaction, or nothing does. Entries: POST and PUT of a resource, DELETE of `Type/id`.
 */
export async function runTransaction(
  deps: TransactionDeps,
  input: unknown,
  context: AccessContext,
): Promise<TransactionResult[]> {
  const bundle = input as { resourceType?: unknown; type?: unknown; entry?: unknown };
  if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'transaction') {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'expected a Bundle of type transaction');
  }
  const requester = await deps.gate.admit('transaction', context, {});
  const entries = (Array.isArray(bundle.entry) ? bundle.entry : []) as TransactionEntry[];
  const first = await planWrites(entries);
  const taken = new Set<string>();
  for (const w of first) {
    if (w.create === true && (await deps.store.storage.current(w.type, w.id)) !== undefined)
      taken.add(`${w.type}/${w.id}`);
  }
  const writes = taken.size === 0 ? first : await planWrites(entries, taken);
  const keys = [...new Set(writes.map((w) => `${w.type}/${w.id}`))].sort();
  if (keys.length !== writes.length) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'a transaction may touch each resource once');
  }
  return deps.store.withLocks(keys, async () => {
    const now = deps.store.now().toISOString();
    const staged: VersionWrite[] = [];
    const results: TransactionResult[] = [];
    const patients = new Set<string>();
    const breakGlassPatients = new Set<string>();
    const storedResources: Resource[] = [];
    const slice = createYieldEvery(ENTRIES_PER_SLICE);
    for (const w of writes) {
      await slice();
      const current = await deps.store.storage.current(w.type, w.id);
      if (w.create === true && current !== undefined) {
        throw new CareLedgerError(
          'ERR_PRECONDITION_FAILED',
          'a POST entry names an id another request has just created; nothing was written, send the Bundle again',
        );
      }
      // Every entry is the requester's to write, or the whole transaction is refused (and audited).
      const interaction = w.resource === undefined ? 'delete' : current === undefined ? 'create' : 'update';
      // The version replaced must also be one the requester may see (AccessGate.admitReplace).
      if (current !== undefined && !current.deleted) {
        const replaced = await deps.store.open(current);
        if (await deps.gate.admitReplace(requester, context, interaction, replaced, current.patientId))
          breakGlassPatients.add(current.patientId);
      }
      if (w.resource !== undefined) {
        const patient = compartmentPatient(w.resource);
        if (await deps.gate.admitWrite(requester, context, interaction, w.resource, patient))
          breakGlassPatients.add(patient);
      }
      // Issue 14 item 12: a Patient's ledger key changes only through key enrolment.
      if (w.resource?.resourceType === 'Patient') {
        const replaced =
          current === undefined || current.deleted ? undefined : await deps.store.open(current);
        await verifyLedgerAddressWrite(deps, 'transaction', context, replaced, w.resource);
      }
      const versionId = (current?.versionId ?? 0) + 1;
      if (w.resource === undefined) {
        if (current === undefined || current.deleted) continue;
        patients.add(current.patientId);
        staged.push({
          version: {
            resourceType: w.type,
            id: w.id,
            versionId,
            patientId: current.patientId,
            lastUpdated: now,
            deleted: true,
            sealed: null,
            versionHash: deps.store.versionHash(w.type, w.id, versionId, ''),
            commitmentSalt: null,
          },
          index: [],
        });
        results.push({ type: w.type, id: w.id, versionId, created: false, deleted: true });
        continue;
      }
      const stored = {
        ...w.resource,
        meta: { ...w.resource.meta, versionId: String(versionId), lastUpdated: now },
      } as Resource;
      const canonical = canonicalJson(stored);
      const patientId = compartmentPatient(stored);
      patients.add(patientId);
      staged.push({
        version: {
          resourceType: w.type,
          id: w.id,
          versionId,
          patientId,
          lastUpdated: now,
          deleted: false,
          sealed: await deps.crypto.encrypt(
            {
              resourceType: w.type,
              id: w.id,
              versionId: String(versionId),
              patientId: keyOwner(w.type, patientId),
            },
            encoder.encode(canonical),
          ),
          versionHash: deps.store.versionHash(w.type, w.id, versionId, canonical),
          commitmentSalt: null,
        },
        index: deps.store.indexEntries(stored),
      });
      storedResources.push(stored);
      results.push({ type: w.type, id: w.id, versionId, created: current === undefined, deleted: false });
    }
    // Every entry passes the pre-write hook, or none is written (and no permit is confirmed).
    await writeAllWithPermits(deps.beforeWrite, storedResources, context, () =>
      deps.store.commitMany(
        staged,
        [...(patients.size === 0 ? [''] : patients)].map((patient) => ({
          interaction: 'transaction' as const,
          context,
          entity: `Bundle/transaction(${staged.length})`,
          patient,
          breakGlass: breakGlassPatients.has(patient),
        })),
      ),
    );
    deps.notifyStored(storedResources);
    return results;
  });
}

/**
 * The entries as writes, every resource validated and every `urn:uuid:` reference rewritten, before
 * anything is locked or read: the POST and PUT entries in order, then the DELETEs.
 */
async function planWrites(
  entries: readonly TransactionEntry[],
  taken?: ReadonlySet<string>,
): Promise<PlannedWrite[]> {
  const notDeletes = entries.filter((e) => e.request?.method !== 'DELETE');
  const rewritten = rewriteBundleReferences({ entry: notDeletes }, undefined, taken);
  if (rewritten.unresolvedReferences.length > 0) {
    const first = rewritten.unresolvedReferences[0];
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      'the transaction has references to entries it does not contain',
      {
        details: { reason: 'broken-reference', expression: first?.path ?? '' },
      },
    );
  }
  if (rewritten.unusable.length > 0) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'a transaction entry has no resource', {
      details: { entry: rewritten.unusable[0]?.index ?? 0 },
    });
  }
  const writes: PlannedWrite[] = [];
  const slice = createYieldEvery(ENTRIES_PER_SLICE);
  for (const entry of rewritten.entries) {
    await slice();
    const original = notDeletes[entry.index];
    const method = original?.request?.method ?? 'POST';
    if (method !== 'POST' && method !== 'PUT') {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        `transaction entries may be POST, PUT or DELETE, not ${method}`,
      );
    }
    let resource: Resource;
    try {
      resource = parseResource(entry.resource);
      // Issue 22: an import or a transaction stores no value a person cannot have either.
      assertPlausible(resource as unknown as Record<string, unknown>);
    } catch (error) {
      if (error instanceof CareLedgerError) {
        throw new CareLedgerError(
          'ERR_INVALID_INPUT',
          `transaction entry ${entry.index} is invalid: nothing was written`,
          {
            details: { ...error.details, entry: entry.index },
          },
        );
      }
      throw error;
    }
    const id = method === 'PUT' ? (original?.request?.url?.split('/')[1] ?? entry.id) : entry.id;
    writes.push({
      type: entry.resourceType,
      id,
      resource: { ...resource, id } as Resource,
      ...(method === 'POST' ? { create: true } : {}),
    });
  }
  for (const entry of entries.filter((e) => e.request?.method === 'DELETE')) {
    const [type, id] = (entry.request?.url ?? '').split('/');
    if (type === undefined || id === undefined || type === '' || id === '') {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'a DELETE entry needs request.url Type/id');
    }
    writes.push({ type, id });
  }
  return writes;
}
