import { BaseError, decodeErrorResult, type Hex, isHex } from 'viem';
import { CareLedgerError } from '../errors/index.js';
import { contractErrorCode, describeContractError } from './contract-errors.js';
import {
  checkpointAnchorAbi,
  consentRegistryAbi,
  consortiumRegistryAbi,
  researchRegistryAbi,
} from './contracts.generated.js';

const allErrorsAbi = [
  ...consortiumRegistryAbi,
  ...consentRegistryAbi,
  ...checkpointAnchorAbi,
  ...researchRegistryAbi,
].filter((item) => item.type === 'error');

export interface DecodedRevert {
  readonly errorName: string;
  readonly args: readonly unknown[];
}

/** Finds the revert data in a viem or JSON-RPC error chain, if the chain reported any. */
function findRevertData(error: unknown): Hex | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 10 && current !== undefined && current !== null; depth += 1) {
    const data = (current as { data?: unknown }).data;
    if (typeof data === 'string' && isHex(data) && data.length >= 10) return data;
    if (typeof data === 'object' && data !== null) {
      const inner = (data as { data?: unknown }).data;
      if (typeof inner === 'string' && isHex(inner) && inner.length >= 10) return inner;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function decodeRevert(error: unknown): DecodedRevert | undefined {
  const data = findRevertData(error);
  if (data === undefined) return undefined;
  try {
    const decoded = decodeErrorResult({ abi: allErrorsAbi, data });
    return { errorName: decoded.errorName, args: decoded.args ?? [] };
  } catch {
    return undefined;
  }
}

/** True when the error says the chain could not be reached (as opposed to a refusal by the chain). */
export function isChainUnreachable(error: unknown): boolean {
  const text = error instanceof BaseError ? `${error.shortMessage} ${error.details}` : String(error);
  return /fetch failed|ECONNREFUSED|ECONNRESET|socket|timed? ?out|HTTP request failed/i.test(text);
}

/** Hex longer than this (a contract's bytecode, a call's data) is cut in error messages. */
const HEX_KEPT = 64;

/** `text` with every long hex string cut to its first HEX_KEPT digits and its length in bytes. */
export function shortenHex(text: string): string {
  return text.replace(
    new RegExp(`0x([0-9a-fA-F]{${HEX_KEPT}})([0-9a-fA-F]{16,})`, 'g'),
    (_, head: string, rest: string) => `0x${head}…(${(head.length + rest.length) / 2} bytes)`,
  );
}

/**
 * The cause kept on a CareLedgerError: viem's error repeats the request (bytecode, calldata) in its
 * message, its meta messages, its `details` and in each nested cause, kilobytes four times over in a
 * test failure or a log. This keeps one message, with long hex cut.
 */
export function shortenChainError(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(shortenHex(String(error)));
  const short = new Error(shortenHex(error.message));
  short.name = error.name;
  return short;
}

/**
 * Turns a failed call or estimate into a CareLedgerError: a named contract error becomes its sentence
 * (`describeContractError`), an unreachable chain becomes ERR_CHAIN_UNAVAILABLE (retry later).
 */
export function toLedgerError(error: unknown, action: string): CareLedgerError {
  if (error instanceof CareLedgerError) return error;
  const revert = decodeRevert(error);
  if (revert !== undefined) {
    return new CareLedgerError(
      contractErrorCode(revert.errorName),
      describeContractError(revert.errorName, revert.args),
      {
        cause: shortenChainError(error),
        details: { contractError: revert.errorName, action },
      },
    );
  }
  if (isChainUnreachable(error)) {
    return new CareLedgerError('ERR_CHAIN_UNAVAILABLE', `the chain is unreachable (${action}); retry later`, {
      cause: shortenChainError(error),
      details: { action },
    });
  }
  const message = error instanceof BaseError ? error.shortMessage : 'unexpected chain error';
  // The chain's own words (`BlockOutOfRangeError: …`), when short: the short message alone is generic.
  const reason = error instanceof BaseError ? shortenHex(error.details ?? '') : '';
  const said = reason !== '' && reason.length <= 200 && !message.includes(reason) ? ` (${reason})` : '';
  return new CareLedgerError('ERR_CHAIN_REVERTED', `${action} was rejected by the chain: ${message}${said}`, {
    cause: shortenChainError(error),
    details: { action },
  });
}
