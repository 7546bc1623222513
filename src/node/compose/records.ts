import { randomUUID } from 'node:crypto';
import type { AllergyIntolerance, Resource } from '@medplum/fhirtypes';
import type { ConsentDecisionCache } from '../../access/consent-decision-cache.js';
import { AccessPolicy, listGrantingPatients } from '../../access/index.js';
import { createDrugAllergyCheck } from '../../clinician/drug-allergy-check.js';
import type { ConsortiumLedger } from '../../ledger/index.js';
import { integrityAlertSentence } from '../../patient-rights/notification-sentences.js';
import type { BeforeWrite } from '../../vault/before-write.js';
import { FhirRepository } from '../../vault/fhir-repository.js';
import type { VaultCrypto } from '../../vault/index.js';
import type { LogServices } from '../log-services.js';
import {
  announceRelayed,
  announcingHooks,
  RecordLocatorAnnouncer,
  relayingHooks,
} from '../record-locator-announcer.js';
import type { CredentialCheck } from './credentials.js';
import type { NodeBase } from './node-base.js';
import type { StartNodeOptions } from './start-node-options.js';

export interface RecordsDeps {
  readonly ledger: ConsortiumLedger;
  readonly logServices: LogServices;
  readonly crypto: VaultCrypto;
  readonly consentDecisions: ConsentDecisionCache;
  readonly practitionerCheck: CredentialCheck;
  /** Issue 19: the supply module's check of a dispensed pack (set once the module exists). */
  readonly checkDispense: BeforeWrite;
}

/**
 * The FHIR vault and its access policy, the checks every write passes, and the RecordLocator
 * announcements of the patients stored here.
 */
export function createRecords(base: NodeBase, options: StartNodeOptions, deps: RecordsDeps) {
  const { config, deployment, stores, account, say } = base;
  const { ledger, practitionerCheck, consentDecisions } = deps;
  const index = stores.chainIndex;
  const authStore = stores.auth;
  const breakGlass = stores.breakGlass;
  // The patient's allergies as the prescriber sees them; none when they may not read them.
  const checkDrugAllergy = createDrugAllergyCheck(async (patientId, context) =>
    (
      await repository.everything(patientId, context, ['AllergyIntolerance']).catch((): Resource[] => [])
    ).filter((r): r is AllergyIntolerance => r.resourceType === 'AllergyIntolerance'),
  );
  // Patients stored here are announced on RecordLocator (off for deployments that predate it).
  const locator =
    deployment.contracts.recordLocator === undefined || options.worker !== undefined
      ? undefined
      : new RecordLocatorAnnouncer({ ledger, index, log: say });
  // A cluster worker holds no announcer: it relays the addresses it stored or erased to the primary,
  // whose announcer takes them (decision 0014 §8).
  const locatorHooks =
    locator !== undefined
      ? announcingHooks(locator)
      : options.worker !== undefined && deployment.contracts.recordLocator !== undefined
        ? relayingHooks(options.worker.broadcast)
        : undefined;
  if (locator !== undefined && options.primary !== undefined)
    announceRelayed(options.primary.broadcast, locator);
  const repository: FhirRepository = new FhirRepository({
    beforeWrite: async (resource, context, writeOptions) => {
      // Issue 22: drug–allergy check when prescribing (src/clinician/drug-allergy-check.ts).
      await checkDrugAllergy(resource, context);
      return deps.checkDispense(resource, context, writeOptions);
    },
    ...(locatorHooks ?? {}),
    storage: stores.records,
    crypto: deps.crypto,
    log: deps.logServices.log,
    observer: { display: config.organization, origin: config.logOrigin },
    // Issue 14 item 8: a record that fails its integrity check alerts the operator and the privacy officer (ids only).
    onIntegrityFailure: (failure) => {
      const subject = `${failure.resourceType}/${failure.id}/_history/${failure.versionId}`;
      say(`integrity alert: ${subject} failed its integrity check`);
      for (const recipient of ['role:operator', 'role:privacy-officer']) {
        authStore
          .insertNotification({
            id: randomUUID(),
            recipient,
            kind: 'integrity-alert',
            message: integrityAlertSentence(failure.resourceType),
            subject,
            createdAt: new Date().toISOString(),
          })
          .catch((error: unknown) => say(`integrity alert not stored: ${(error as Error).message}`));
      }
    },
    breakGlass,
    ...(config.breakGlass === undefined ? {} : { breakGlassPolicy: config.breakGlass }),
    policy: new AccessPolicy({
      ...(practitionerCheck === undefined ? {} : { practitionerCredential: practitionerCheck.check }),
      consent: consentDecisions.check,
      // Issue 14 item 5, issue 16: a member's search touches only the patients that granted it something.
      grantingPatients: (grantee, at) => listGrantingPatients(index, grantee, at),
      nodeAddress: account.address,
      breakGlass,
    }),
  });
  return { repository, locator };
}

/**
 * Patients stored before a crash (or before this feature) are announced now; refusals retry. The
 * returned `stop` ends the retries and waits for announcements under way.
 */
export function startLocatorAnnouncements(base: NodeBase, records: ReturnType<typeof createRecords>) {
  const { repository, locator } = records;
  const locatorRetry = setInterval(() => void locator?.retry(), 5_000);
  locatorRetry.unref();
  const locatorSweep =
    locator === undefined
      ? undefined
      : repository
          .patientLedgerAddresses()
          .then((addresses) => locator.announceAll(addresses))
          .catch((error: unknown) => base.say(`record locator sweep failed: ${(error as Error).message}`));
  return {
    stopRetries: () => clearInterval(locatorRetry),
    async idle() {
      await locatorSweep;
      await locator?.idle();
    },
  };
}
