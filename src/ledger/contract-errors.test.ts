import type { Abi } from 'viem';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../errors/index.js';
import {
  CONTRACT_ERROR_NAMES,
  contractErrorCode,
  describeContractError,
  isContractErrorName,
} from './contract-errors.js';
import {
  checkpointAnchorAbi,
  claimsRegistryAbi,
  consentRegistryAbi,
  consortiumRegistryAbi,
  recordLocatorAbi,
  researchRegistryAbi,
  supplyChainAbi,
} from './contracts.generated.js';

const abis: Abi[] = [
  consortiumRegistryAbi,
  consentRegistryAbi,
  checkpointAnchorAbi,
  recordLocatorAbi,
  supplyChainAbi,
  claimsRegistryAbi,
  researchRegistryAbi,
];
const abiErrorNames = [
  ...new Set(abis.flatMap((abi) => abi.filter((item) => item.type === 'error').map((item) => item.name))),
].sort();

describe('contract error descriptions', () => {
  it('describe exactly the custom errors of the contracts', () => {
    expect([...CONTRACT_ERROR_NAMES].sort()).toEqual(abiErrorNames);
  });

  it('give a sentence and a known CareLedgerError code for each', () => {
    for (const name of CONTRACT_ERROR_NAMES) {
      const sentence = describeContractError(name, [1n, 2n, 3n]);
      expect(sentence.length).toBeGreaterThan(10);
      expect(sentence).not.toContain('undefined');
      expect(ERROR_CODES).toContain(contractErrorCode(name));
    }
  });

  it('fill in the revert arguments', () => {
    expect(describeContractError('NonceAlreadyUsed', [3n, 1n])).toBe(
      'this consent nonce was already used (replay): expected 3, got 1',
    );
    expect(describeContractError('NotOriginOwner', ['a.example.org/log', '0xabc'])).toBe(
      '0xabc is not the active member that owns log origin "a.example.org/log"',
    );
    expect(describeContractError('AlreadyVoted')).toBe('member ? already voted on proposal ?');
    expect(contractErrorCode('NonceOutOfOrder')).toBe('ERR_NONCE_OUT_OF_ORDER');
    expect(contractErrorCode('ConflictingRoot')).toBe('ERR_LOG_EQUIVOCATION');
  });

  it('fall back for unknown names', () => {
    expect(isContractErrorName('Panic')).toBe(false);
    expect(isContractErrorName('hasOwnProperty')).toBe(false);
    expect(describeContractError('Panic')).toBe('the ledger rejected the transaction (Panic)');
    expect(contractErrorCode('Panic')).toBe('ERR_CHAIN_REVERTED');
  });
});
