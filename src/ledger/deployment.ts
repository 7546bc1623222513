import { existsSync, readFileSync } from 'node:fs';
import { type Address, encodeDeployData, getAddress, getContractAddress, type Hex, isAddress } from 'viem';
import { CareLedgerError } from '../errors/index.js';
import { writeFileDurably } from '../storage/write-file-durably.js';
import { MEMBER_ROLES, type MemberRole, parseMemberRole } from './codes.js';
import {
  checkpointAnchorAbi,
  checkpointAnchorBytecode,
  claimsRegistryAbi,
  claimsRegistryBytecode,
  consentRegistryAbi,
  consentRegistryBytecode,
  consortiumRegistryAbi,
  consortiumRegistryBytecode,
  credentialStatusAbi,
  credentialStatusBytecode,
  recordLocatorAbi,
  recordLocatorBytecode,
  researchRegistryAbi,
  researchRegistryBytecode,
  supplyChainAbi,
  supplyChainBytecode,
} from './contracts.generated.js';
import type { Outbox } from './outbox.js';

/** Where the consortium's contracts live: written once at deployment, read by every node and the CLI. */
export interface Deployment {
  readonly chainId: number;
  readonly contracts: {
    readonly consortiumRegistry: Address;
    readonly consentRegistry: Address;
    readonly checkpointAnchor: Address;
    /** Absent in deployment records written before the record locator existed: the feature is then off. */
    readonly recordLocator?: Address;
    /** Absent in deployment records written before the supply chain existed (decision 0023). */
    readonly supplyChain?: Address;
    /** Absent in deployment records written before claims existed (decision 0019): claims are then off. */
    readonly claimsRegistry?: Address;
    /** Absent in records written before licence credentials were on chain (decision 0018). */
    readonly credentialStatus?: Address;
    /** Absent in records written before research studies were on chain (decision 0024): research is then off. */
    readonly researchRegistry?: Address;
  };
  readonly deployBlock: number;
  readonly deployedAt: string;
  /**
   * keccak256 of each contract's runtime code as deployed (`careledger chain deploy` records it): a node
   * refuses a chain whose code at these addresses differs. Absent in records of the embedded demo chain.
   */
  readonly codeHashes?: Readonly<Record<string, Hex>>;
}

export interface GenesisMember {
  readonly account: Address;
  readonly name: string;
  readonly role: MemberRole;
  readonly fhirBaseUrl: string;
  readonly logOrigin: string;
  readonly logVerifierKey: string;
  readonly encryptionPublicKey: `0x${string}`;
}

export function toMemberInput(member: GenesisMember) {
  return {
    account: member.account,
    name: member.name,
    role: MEMBER_ROLES[parseMemberRole(member.role)],
    fhirBaseUrl: member.fhirBaseUrl,
    logOrigin: member.logOrigin,
    logVerifierKey: member.logVerifierKey,
    encryptionPublicKey: member.encryptionPublicKey,
  };
}

/**
 * Deploys the contracts through the outbox (so a crash mid-deployment re-sends, never
 * duplicates: addresses follow from the deployer's nonces) and waits for all of them.
 */
export async function deployContracts(
  outbox: Outbox,
  genesis: { members: readonly GenesisMember[]; threshold: number },
  chainId: number,
): Promise<Deployment> {
  const registryData = encodeDeployData({
    abi: consortiumRegistryAbi,
    bytecode: consortiumRegistryBytecode,
    args: [genesis.members.map(toMemberInput), genesis.threshold],
  });
  const registryEntry = await outbox.submit({
    label: 'deploy ConsortiumRegistry',
    to: null,
    data: registryData,
  });
  const registry = getContractAddress({ from: outbox.address, nonce: BigInt(registryEntry.nonce) });
  // The next three constructors read nothing from the registry, so they can be signed before it is mined.
  const consentEntry = await submitDeploy(
    outbox,
    'deploy ConsentRegistry',
    encodeDeployData({
      abi: consentRegistryAbi,
      bytecode: consentRegistryBytecode,
      args: [registry],
    }),
  );
  const anchorEntry = await submitDeploy(
    outbox,
    'deploy CheckpointAnchor',
    encodeDeployData({
      abi: checkpointAnchorAbi,
      bytecode: checkpointAnchorBytecode,
      args: [registry],
    }),
  );
  const locatorEntry = await submitDeploy(
    outbox,
    'deploy RecordLocator',
    encodeDeployData({
      abi: recordLocatorAbi,
      bytecode: recordLocatorBytecode,
      args: [registry],
    }),
  );
  const supplyEntry = await submitDeploy(
    outbox,
    'deploy SupplyChain',
    encodeDeployData({ abi: supplyChainAbi, bytecode: supplyChainBytecode, args: [registry] }),
  );
  // ClaimsRegistry reads members through getMember (ABI-compatible with ConsortiumRegistry's).
  const claimsEntry = await submitDeploy(
    outbox,
    'deploy ClaimsRegistry',
    encodeDeployData({ abi: claimsRegistryAbi, bytecode: claimsRegistryBytecode, args: [registry] }),
  );
  const credentialEntry = await submitDeploy(
    outbox,
    'deploy CredentialStatus',
    encodeDeployData({ abi: credentialStatusAbi, bytecode: credentialStatusBytecode, args: [registry] }),
  );
  // ResearchRegistry reads getMember and activeMemberCount of the registry (decision 0024).
  const researchEntry = await submitDeploy(
    outbox,
    'deploy ResearchRegistry',
    encodeDeployData({ abi: researchRegistryAbi, bytecode: researchRegistryBytecode, args: [registry] }),
  );
  let deployBlock = Number.MAX_SAFE_INTEGER;
  for (const entry of [
    registryEntry,
    consentEntry,
    anchorEntry,
    locatorEntry,
    supplyEntry,
    claimsEntry,
    credentialEntry,
    researchEntry,
  ]) {
    const done = await outbox.waitForConfirmation(entry.id, 120_000);
    if (done.receiptStatus !== 'success' || done.contractAddress === null) {
      throw new CareLedgerError('ERR_CHAIN_REVERTED', `${entry.label} failed on the chain`);
    }
    deployBlock = Math.min(deployBlock, done.blockNumber ?? 0);
  }
  return {
    chainId,
    contracts: {
      consortiumRegistry: getAddress(registry),
      consentRegistry: getAddress(
        getContractAddress({ from: outbox.address, nonce: BigInt(consentEntry.nonce) }),
      ),
      checkpointAnchor: getAddress(
        getContractAddress({ from: outbox.address, nonce: BigInt(anchorEntry.nonce) }),
      ),
      recordLocator: getAddress(
        getContractAddress({ from: outbox.address, nonce: BigInt(locatorEntry.nonce) }),
      ),
      supplyChain: getAddress(getContractAddress({ from: outbox.address, nonce: BigInt(supplyEntry.nonce) })),
      claimsRegistry: getAddress(
        getContractAddress({ from: outbox.address, nonce: BigInt(claimsEntry.nonce) }),
      ),
      credentialStatus: getAddress(
        getContractAddress({ from: outbox.address, nonce: BigInt(credentialEntry.nonce) }),
      ),
      researchRegistry: getAddress(
        getContractAddress({ from: outbox.address, nonce: BigInt(researchEntry.nonce) }),
      ),
    },
    deployBlock,
    deployedAt: new Date().toISOString(),
  };
}

/**
 * Deploys without the eth_call preflight's view of the registry (not mined yet): the outbox still
 * simulates it, and a constructor taking only an address cannot revert.
 */
function submitDeploy(outbox: Outbox, label: string, data: `0x${string}`) {
  return outbox.submit({ label, to: null, data });
}

export function saveDeployment(path: string, deployment: Deployment): void {
  writeFileDurably(path, `${JSON.stringify(deployment, null, 2)}\n`);
}

export function loadDeployment(path: string): Deployment {
  if (!existsSync(path)) {
    throw new CareLedgerError('ERR_CONFIG', `no deployment record at ${path}; deploy the contracts first`);
  }
  let parsed: Deployment;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as Deployment;
  } catch (cause) {
    throw new CareLedgerError('ERR_CONFIG', `the deployment record at ${path} is not valid JSON`, { cause });
  }
  for (const address of Object.values(parsed.contracts ?? {})) {
    if (!isAddress(address))
      throw new CareLedgerError('ERR_CONFIG', `the deployment record at ${path} is malformed`);
  }
  return parsed;
}
