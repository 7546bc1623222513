export { EpcisCaptureService, formatEpcisLogEntry } from './capture/epcis-capture.js';
export { parseEpcisQuery, queryEpcisEvents } from './capture/epcis-query.js';
export { parseEpcisDocument } from './capture/parse-epcis-document.js';
export { createPackEventDocument, registerSupplyCommands } from './cli/supply-commands.js';
export { createSupplyModule, type SupplyModule, type SupplyModuleDeps } from './create-supply-module.js';
export { packOfMedication } from './dispense/pack-of-medication.js';
export { problemResponse, toProblem } from './http/epcis-problem.js';
export {
  expiryToYymmdd,
  loadOrCreateSupplyKey,
  lotKeyOf,
  packKeyOf,
  parseSupplyKey,
  SUPPLY_KEY_ENV,
  SUPPLY_KEY_FILE,
  type SupplyKey,
} from './ledger/supply-keys.js';
export { type PackState, SupplyLedger } from './ledger/supply-ledger.js';
export { RECALL_SERVICE_IDENTITY, type SupplyNotification } from './recall/reach-patient.js';
export { RecallService } from './recall/recall-service.js';
export { SqliteSupplyStore, supplyMigrations } from './storage/sqlite-supply-store.js';
export type { SupplyStore } from './storage/supply-store.js';
export {
  type PackIdentity,
  parsePackIdentity,
  VERDICTS,
  type Verdict,
  type VerificationResponse,
  verifyPack,
} from './verify/verify-pack.js';
