/** Deployment helpers shared by the contract integration tests. */
import { type Address, type Hex, keccak256, toHex } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { MEMBER_ROLES, type MemberRole } from '../../src/ledger/codes.js';
import {
  checkpointAnchorAbi,
  checkpointAnchorBytecode,
  consentRegistryAbi,
  consentRegistryBytecode,
  consortiumRegistryAbi,
  consortiumRegistryBytecode,
  recordLocatorAbi,
  recordLocatorBytecode,
} from '../../src/ledger/contracts.generated.js';
import type { TestAnvil } from '../support/test-anvil.js';

export interface MemberInput {
  account: Address;
  name: string;
  role: number;
  fhirBaseUrl: string;
  logOrigin: string;
  logVerifierKey: string;
  encryptionPublicKey: Hex;
}

export function memberInput(account: Address, label: string, role: MemberRole = 'provider'): MemberInput {
  return {
    account,
    name: `${label} Health`,
    role: MEMBER_ROLES[role],
    fhirBaseUrl: `https://${label}.example.org/fhir`,
    logOrigin: `${label}.example.org/log`,
    logVerifierKey: `${label}.example.org/log+01234567+AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=`,
    encryptionPublicKey: keccak256(toHex(label)),
  };
}

export async function deployRegistry(
  anvil: TestAnvil,
  deployer: PrivateKeyAccount,
  genesis: readonly MemberInput[],
  threshold: number,
): Promise<Address> {
  return anvil.deploy(deployer, {
    abi: consortiumRegistryAbi,
    bytecode: consortiumRegistryBytecode,
    args: [genesis, threshold],
  });
}

export async function deployConsent(anvil: TestAnvil, deployer: PrivateKeyAccount, registry: Address) {
  return anvil.deploy(deployer, {
    abi: consentRegistryAbi,
    bytecode: consentRegistryBytecode,
    args: [registry],
  });
}

export async function deployAnchor(anvil: TestAnvil, deployer: PrivateKeyAccount, registry: Address) {
  return anvil.deploy(deployer, {
    abi: checkpointAnchorAbi,
    bytecode: checkpointAnchorBytecode,
    args: [registry],
  });
}

export async function deployLocator(anvil: TestAnvil, deployer: PrivateKeyAccount, registry: Address) {
  return anvil.deploy(deployer, {
    abi: recordLocatorAbi,
    bytecode: recordLocatorBytecode,
    args: [registry],
  });
}
