import { describe, expect, it } from 'vitest';
import { type ChainStatus, formatChainStatus } from './chain-status.js';

const member = (name: string, status: 'active' | 'removed') => ({
  name,
  role: 'provider',
  address: '0x0000000000000000000000000000000000000001' as const,
  fhirBaseUrl: 'http://127.0.0.1:8701/fhir',
  logOrigin: `${name}/log`,
  status,
  sync: null,
});

describe('formatChainStatus', () => {
  it('prints the admission rule with the number of active members, as the contract counts it', () => {
    const status: ChainStatus = {
      rpcUrl: 'http://127.0.0.1:8545',
      chainId: 31337,
      blockNumber: 7,
      contracts: {},
      threshold: 2,
      members: [member('a', 'active'), member('b', 'active'), member('c', 'active'), member('d', 'removed')],
    };
    expect(formatChainStatus(status)).toMatch(/^admission {4}2 of 3 active members' votes$/m);
    expect(formatChainStatus({ ...status, members: [member('a', 'active')] })).toMatch(
      /^admission {4}1 of 1 active members' votes$/m,
    );
  });

  it('shows the consent openings a node still owes other members, only when there are some', () => {
    const sync = { indexedBlock: 7, lagBlocks: 0, lagSeconds: 0 };
    const status: ChainStatus = {
      rpcUrl: 'http://127.0.0.1:8545',
      chainId: 31337,
      blockNumber: 7,
      contracts: {},
      threshold: 1,
      members: [{ ...member('a', 'active'), sync: { ...sync, openingDelivery: { pending: 2, failed: 1 } } }],
    };
    expect(formatChainStatus(status)).toMatch(/consent openings owed: 2 pending, 1 failed$/m);
    const none = { ...status, members: [{ ...member('a', 'active'), sync }] };
    expect(formatChainStatus(none)).not.toMatch(/consent openings/);
  });
});
