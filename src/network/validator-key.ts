import { secp256k1 } from '@noble/curves/secp256k1.js';
import { type Address, bytesToHex, getAddress, type Hex, hexToBytes, isHex, keccak256 } from 'viem';
import { CareLedgerError } from '../errors/index.js';

/** A Besu node key: secp256k1, the same key identifies the node on P2P (enode) and signs blocks. */
export interface ValidatorKey {
  /** 0x + 64 hex, as Besu's `key` file holds it. */
  readonly privateKey: Hex;
  /** 0x + 128 hex: the uncompressed point without its 0x04 prefix, as Besu's `key.pub` holds it. */
  readonly publicKey: Hex;
  /** keccak256(publicKey)[12..]: the validator address in extraData and in qbft_* votes. */
  readonly address: Address;
}

export function createValidatorKey(randomSecretKey = secp256k1.utils.randomSecretKey): ValidatorKey {
  return validatorKeyFromPrivate(bytesToHex(randomSecretKey()));
}

export function validatorKeyFromPrivate(privateKey: Hex): ValidatorKey {
  if (!isHex(privateKey) || privateKey.length !== 66)
    throw new CareLedgerError('ERR_CONFIG', 'a validator key is 32 bytes of hex');
  const publicKey = bytesToHex(secp256k1.getPublicKey(hexToBytes(privateKey), false).slice(1));
  return { privateKey, publicKey, address: addressOfPublicKey(publicKey) };
}

/** The address of a node from its 64-byte public key (the enode id). */
export function addressOfPublicKey(publicKey: Hex): Address {
  const bytes = hexToBytes(publicKey);
  if (bytes.length !== 64) throw new CareLedgerError('ERR_INVALID_INPUT', 'a node public key is 64 bytes');
  // Refuses a point not on the curve: a typo in a pasted key would otherwise become a validator.
  secp256k1.Point.fromBytes(new Uint8Array([4, ...bytes]));
  return getAddress(`0x${keccak256(bytes).slice(-40)}`);
}

/** The enode URL other nodes dial (devp2p: `enode://<64-byte public key hex>@<ip>:<tcp port>`). */
export function enodeUrl(publicKey: Hex, host: string, port: number): string {
  return `enode://${publicKey.slice(2).toLowerCase()}@${host}:${port}`;
}
