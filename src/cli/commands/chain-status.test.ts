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
});
