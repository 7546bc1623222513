/**
 * One contract, two adapters: every store of a node behaves the same on SQLite (the embedded default)
 * and on PostgreSQL (a throw-away cluster from Debian's package; the file fails, never skips, if it
 * cannot start).
 */
import { describe } from 'vitest';
import { describeAuthStoreContract } from '../../src/storage/contract-tests/auth-store-contract.js';
import { describeChainIndexStorageContract } from '../../src/storage/contract-tests/chain-index-storage-contract.js';
import { describeConsentStoresContract } from '../../src/storage/contract-tests/consent-stores-contract.js';
import { describeDataKeyStoreContract } from '../../src/storage/contract-tests/data-key-store-contract.js';
import { describeExportJobStorageContract } from '../../src/storage/contract-tests/export-job-storage-contract.js';
import { describeLogStorageContract } from '../../src/storage/contract-tests/log-storage-contract.js';
import { describeOpeningDeliveryStoreContract } from '../../src/storage/contract-tests/opening-delivery-store-contract.js';
import { describeOutboxStorageContract } from '../../src/storage/contract-tests/outbox-storage-contract.js';
import { describeRecordStorageContract } from '../../src/storage/contract-tests/record-storage-contract.js';
import { describeSupplyStoreContract } from '../../src/storage/contract-tests/supply-store-contract.js';
import { contractAdapters } from './contract-adapters.js';

const adapters = contractAdapters();

for (const adapter of adapters) {
  describe(adapter.name, () => {
    describeOutboxStorageContract(adapter);
    describeExportJobStorageContract(adapter);
    describeChainIndexStorageContract(adapter);
    describeLogStorageContract(adapter);
    describeDataKeyStoreContract(adapter);
    describeRecordStorageContract(adapter);
    describeConsentStoresContract(adapter);
    describeAuthStoreContract(adapter);
    describeOpeningDeliveryStoreContract(adapter);
    describeSupplyStoreContract(adapter);
  });
}
