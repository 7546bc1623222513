/**
 * The vault's pre-write hook (FhirRepositoryOptions.beforeWrite): asked, after access was granted
 * and before a version is sealed, about every resource any path writes (create, update-as-create,
 * update, PATCH, conditional interactions, and each entry of a transaction, which the batch and the
 * import also go through). The supply chain's dispense check is one (src/supply, issue 19).
 */
import type { Resource } from '@medplum/fhirtypes';
import type { AccessContext } from '../audit/create-audit-event.js';

export interface BeforeWriteOptions {
  /** The other resources written in the same transaction, so a reference between them resolves. */
  readonly bundle?: readonly Resource[];
}

/**
 * A write the hook lets through: `confirm` is awaited just before the write (the supply module
 * puts its ledger write in the outbox there), `release` if the write is then not made.
 */
export interface WritePermit {
  confirm(): Promise<void>;
  release(): Promise<void>;
}

/** Refuses a write by throwing; undefined when it has nothing to confirm or undo. */
export type BeforeWrite = (
  resource: Resource,
  context: AccessContext,
  options?: BeforeWriteOptions,
) => Promise<WritePermit | undefined>;

/** Every permit released; a failed release does not stop the others. */
export async function releaseAll(permits: readonly WritePermit[]): Promise<void> {
  await Promise.allSettled(permits.map((permit) => permit.release()));
}

/**
 * One write: the hook asked, its permit confirmed, then `write`; the permit is released if the
 * confirmation or the write fails.
 */
export async function writeWithPermit<T>(
  hook: BeforeWrite | undefined,
  resource: Resource,
  context: AccessContext,
  write: () => Promise<T>,
): Promise<T> {
  const permit = await hook?.(resource, context);
  try {
    await permit?.confirm();
    return await write();
  } catch (error) {
    await permit?.release();
    throw error;
  }
}

/**
 * A transaction's writes: every resource asked first (a refusal releases the permits already given,
 * so nothing is confirmed for a Bundle that fails), then all confirmed, then `write` (the one commit);
 * all are released if a confirmation or the commit fails.
 */
export async function writeAllWithPermits<T>(
  hook: BeforeWrite | undefined,
  resources: readonly Resource[],
  context: AccessContext,
  write: () => Promise<T>,
): Promise<T> {
  const permits: WritePermit[] = [];
  try {
    for (const resource of hook === undefined ? [] : resources) {
      const permit = await hook?.(resource, context, { bundle: resources });
      if (permit !== undefined) permits.push(permit);
    }
    for (const permit of permits) await permit.confirm();
    return await write();
  } catch (error) {
    await releaseAll(permits);
    throw error;
  }
}
