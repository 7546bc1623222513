import { type Address, bytesToHex, fromRlp, getAddress, type Hex, hexToBytes, isAddress, toRlp } from 'viem';
import { CareLedgerError } from '../errors/index.js';

/**
 * Besu's QBFT `extraData` with validators chosen by block-header votes (QbftExtraDataCodec):
 * RLP([vanity: 32 bytes, validators: [address…], vote: [] or [address, type], round: int, seals: [bytes…]]).
 * In a genesis block the vote is empty, the round 0 (the empty string in RLP) and there are no seals.
 */
export interface QbftExtraData {
  readonly vanity: Hex;
  readonly validators: readonly Address[];
  readonly vote: { readonly recipient: Address; readonly add: boolean } | undefined;
  readonly round: number;
  readonly seals: readonly Hex[];
}

const VANITY_BYTES = 32;
const ZERO_VANITY = bytesToHex(new Uint8Array(VANITY_BYTES));
/** Besu's vote types in the header (VoteType.ADD / DROP). */
const VOTE_ADD = '0xff';
const VOTE_DROP = '0x00';

/** The genesis extraData naming the initial validators, in the order given. */
export function encodeQbftGenesisExtraData(validators: readonly Address[]): Hex {
  if (validators.length === 0)
    throw new CareLedgerError('ERR_INVALID_INPUT', 'a QBFT network needs validators');
  for (const v of validators) {
    if (!isAddress(v, { strict: false }))
      throw new CareLedgerError('ERR_INVALID_INPUT', `${v} is not a validator address`);
  }
  // Round 0 is the integer 0, which RLP writes as the empty string (0x80).
  return toRlp([ZERO_VANITY, validators.map((v) => v.toLowerCase() as Hex), [], '0x', []]);
}

function asBytes(item: unknown, what: string): Hex {
  if (typeof item !== 'string') throw invalid(`${what} is not a byte string`);
  return item as Hex;
}

function invalid(why: string): CareLedgerError {
  return new CareLedgerError('ERR_INVALID_INPUT', `not a QBFT extraData: ${why}`);
}

/** Parses any QBFT header's extraData (genesis or later); throws on anything else. */
export function parseQbftExtraData(extraData: Hex): QbftExtraData {
  let decoded: unknown;
  try {
    decoded = fromRlp(extraData, 'hex');
  } catch (cause) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'not a QBFT extraData: not RLP', { cause });
  }
  if (!Array.isArray(decoded) || decoded.length !== 5) throw invalid('expected a list of five items');
  const [vanityItem, validatorItems, voteItem, roundItem, sealItems] = decoded as unknown[];
  const vanity = asBytes(vanityItem, 'the vanity');
  if (hexToBytes(vanity).length !== VANITY_BYTES) throw invalid('the vanity is not 32 bytes');
  if (!Array.isArray(validatorItems)) throw invalid('the validators are not a list');
  const validators = validatorItems.map((item) => {
    const bytes = asBytes(item, 'a validator');
    if (hexToBytes(bytes).length !== 20) throw invalid('a validator is not 20 bytes');
    return getAddress(bytes);
  });
  if (!Array.isArray(voteItem)) throw invalid('the vote is not a list');
  let vote: QbftExtraData['vote'];
  if (voteItem.length === 2) {
    const recipient = asBytes(voteItem[0], 'the vote recipient');
    const type = asBytes(voteItem[1], 'the vote type');
    if (hexToBytes(recipient).length !== 20 || (type !== VOTE_ADD && type !== VOTE_DROP))
      throw invalid('malformed vote');
    vote = { recipient: getAddress(recipient), add: type === VOTE_ADD };
  } else if (voteItem.length !== 0) {
    throw invalid('malformed vote');
  }
  const roundBytes = asBytes(roundItem, 'the round');
  const round = roundBytes === '0x' ? 0 : Number.parseInt(roundBytes.slice(2), 16);
  if (!Array.isArray(sealItems)) throw invalid('the seals are not a list');
  const seals = sealItems.map((item) => asBytes(item, 'a seal'));
  return { vanity, validators, vote, round, seals };
}
