import { type Address, encodeFunctionData, getAddress, type Hex, type PublicClient } from 'viem';
import { CareLedgerError } from '../errors/index.js';
import {
  checkpointAnchorAbi,
  consentRegistryAbi,
  consortiumRegistryAbi,
  recordLocatorAbi,
} from './contracts.generated.js';
import { type Deployment, type GenesisMember, toMemberInput } from './deployment.js';
import {
  type ConsentDelegation,
  type ConsentGrant,
  type ConsentRevoke,
  toGrantCommitment,
} from './eip712.js';
import type { Outbox } from './outbox.js';
import type { OutboxEntry } from './outbox-storage.js';

/**
 * The node's typed writes to the consortium contracts. Each goes through the durable outbox: the
 * returned entry is stored (acknowledged) and will reach the chain; `outbox.waitForConfirmation`
 * waits for its block.
 */
export class ConsortiumLedger {
  constructor(
    readonly deployment: Deployment,
    readonly outbox: Outbox,
    /** For the few reads made straight from the chain (`recordLocations`); writes need only the outbox. */
    private readonly client?: PublicClient,
  ) {}

  get address(): Address {
    return this.outbox.address;
  }

  /**
   * Relays a patient-signed grant. Only its commitment goes into the transaction (calldata is public
   * forever): the terms and their salt stay off chain, with the members that enforce them.
   */
  relayGrant(grant: ConsentGrant, signature: Hex): Promise<OutboxEntry> {
    return this.outbox.submit({
      label: 'relayGrant',
      to: this.deployment.contracts.consentRegistry,
      data: encodeFunctionData({
        abi: consentRegistryAbi,
        functionName: 'relayGrant',
        args: [toGrantCommitment(grant), signature],
      }),
    });
  }

  relayRevoke(revoke: ConsentRevoke, signature: Hex): Promise<OutboxEntry> {
    return this.outbox.submit({
      label: 'relayRevoke',
      to: this.deployment.contracts.consentRegistry,
      data: encodeFunctionData({
        abi: consentRegistryAbi,
        functionName: 'relayRevoke',
        args: [revoke, signature],
      }),
    });
  }

  /**
   * Relays a patient-signed appointment of a healthcare proxy, with the delegate key's own DelegateKey
   * acceptance (decision 0021: a key for this ward only).
   */
  relayDelegation(
    delegation: ConsentDelegation,
    signature: Hex,
    delegateSignature: Hex,
  ): Promise<OutboxEntry> {
    return this.outbox.submit({
      label: 'relayDelegation',
      to: this.deployment.contracts.consentRegistry,
      data: encodeFunctionData({
        abi: consentRegistryAbi,
        functionName: 'relayDelegation',
        args: [delegation, signature, delegateSignature],
      }),
    });
  }

  /**
   * This member attests the guardian of a minor patient, who may then sign consent for them with
   * `guardian`, a delegate key for this ward only; `guardianSignature` is its DelegateKey acceptance.
   */
  attestGuardian(
    patient: Address,
    guardian: Address,
    notBefore: bigint,
    notAfter: bigint,
    guardianSignature: Hex,
  ): Promise<OutboxEntry> {
    return this.outbox.submit({
      label: 'attestGuardian',
      to: this.deployment.contracts.consentRegistry,
      data: encodeFunctionData({
        abi: consentRegistryAbi,
        functionName: 'attestGuardian',
        args: [patient, guardian, notBefore, notAfter, guardianSignature],
      }),
    });
  }

  /**
   * Ends a delegation: a guardianship this member attested (no signature: pass the zero Revoke and 0x),
   * or a proxy, with the patient's signed Revoke naming the delegation id. ConsentRegistry emits
   * DelegationRevoked; grants the delegate signed stop holding (decision 0021).
   */
  revokeDelegation(delegationId: Hex, revoke: ConsentRevoke, signature: Hex): Promise<OutboxEntry> {
    return this.outbox.submit({
      label: 'revokeDelegation',
      to: this.deployment.contracts.consentRegistry,
      data: encodeFunctionData({
        abi: consentRegistryAbi,
        functionName: 'revokeDelegation',
        args: [delegationId, revoke, signature],
      }),
    });
  }

  proposeAdmission(candidate: GenesisMember): Promise<OutboxEntry> {
    return this.outbox.submit({
      label: 'proposeAdmission',
      to: this.deployment.contracts.consortiumRegistry,
      data: encodeFunctionData({
        abi: consortiumRegistryAbi,
        functionName: 'proposeAdmission',
        args: [toMemberInput(candidate)],
      }),
    });
  }

  proposeRemoval(account: Address): Promise<OutboxEntry> {
    return this.outbox.submit({
      label: 'proposeRemoval',
      to: this.deployment.contracts.consortiumRegistry,
      data: encodeFunctionData({
        abi: consortiumRegistryAbi,
        functionName: 'proposeRemoval',
        args: [account],
      }),
    });
  }

  vote(proposalId: bigint): Promise<OutboxEntry> {
    return this.outbox.submit({
      label: 'vote',
      to: this.deployment.contracts.consortiumRegistry,
      data: encodeFunctionData({ abi: consortiumRegistryAbi, functionName: 'vote', args: [proposalId] }),
    });
  }

  attestPractitioner(
    practitioner: Address,
    credentialHash: Hex,
    qualificationCode: string,
    expiresAt: bigint,
  ) {
    return this.outbox.submit({
      label: 'attestPractitioner',
      to: this.deployment.contracts.consortiumRegistry,
      data: encodeFunctionData({
        abi: consortiumRegistryAbi,
        functionName: 'attestPractitioner',
        args: [practitioner, credentialHash, qualificationCode, expiresAt],
      }),
    });
  }

  revokePractitioner(practitioner: Address): Promise<OutboxEntry> {
    return this.outbox.submit({
      label: 'revokePractitioner',
      to: this.deployment.contracts.consortiumRegistry,
      data: encodeFunctionData({
        abi: consortiumRegistryAbi,
        functionName: 'revokePractitioner',
        args: [practitioner],
      }),
    });
  }

  anchorCheckpoint(origin: string, treeSize: bigint, rootHash: Hex, noteHash: Hex): Promise<OutboxEntry> {
    return this.outbox.submit({
      label: 'anchor',
      to: this.deployment.contracts.checkpointAnchor,
      data: encodeFunctionData({
        abi: checkpointAnchorAbi,
        functionName: 'anchor',
        args: [origin, treeSize, rootHash, noteHash],
      }),
    });
  }

  /**
   * Announces on RecordLocator that this member holds records of `patient` (their pseudonymous ledger
   * address). Idempotent on chain: announcing twice is a no-op, so retries are safe.
   */
  announceRecords(patient: Address): Promise<OutboxEntry> {
    return this.outbox.submit({
      label: 'announceRecords',
      to: this.recordLocator(),
      data: encodeFunctionData({ abi: recordLocatorAbi, functionName: 'announce', args: [patient] }),
    });
  }

  /** Removes this member's RecordLocator pointer for `patient` (erased here); a no-op if absent. */
  withdrawRecords(patient: Address): Promise<OutboxEntry> {
    return this.outbox.submit({
      label: 'withdrawRecords',
      to: this.recordLocator(),
      data: encodeFunctionData({ abi: recordLocatorAbi, functionName: 'withdraw', args: [patient] }),
    });
  }

  /**
   * The members holding records of `patient`, read from the chain (RecordLocator.locationsOf). Nodes
   * answer this from their index instead (`ChainIndexStorage.recordLocations`); this is for tools.
   */
  async recordLocations(patient: Address): Promise<Address[]> {
    if (this.client === undefined) {
      throw new CareLedgerError('ERR_CONFIG', 'this ledger handle was made without a chain client');
    }
    const members = await this.client.readContract({
      address: this.recordLocator(),
      abi: recordLocatorAbi,
      functionName: 'locationsOf',
      args: [patient],
    });
    return members.map((member) => getAddress(member));
  }

  private recordLocator(): Address {
    const address = this.deployment.contracts.recordLocator;
    if (address === undefined) {
      throw new CareLedgerError(
        'ERR_CONFIG',
        'the deployment record names no RecordLocator contract (deployed before it existed)',
      );
    }
    return address;
  }
}
