import { BaseError, decodeErrorResult, type Hex, isHex } from 'viem';
import { CareLedgerError } from '../errors/index.js';
import { contractErrorCode, describeContractError } from './contract-errors.js';
import { checkpointAnchorAbi, consentRegistryAbi, consortiumRegistryAbi } from './contracts.generated.js';

const allErrorsAbi = [...consortiumRegistryAbi, ...consentRegistryAbi, ...checkpointAnchorAbi].filter(
  (item) => item.type === 'error',
);

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
        cause: error,
        details: { contractError: revert.errorName, action },
      },
    );
  }
  if (isChainUnreachable(error)) {
    return new CareLedgerError('ERR_CHAIN_UNAVAILABLE', `the chain is unreachable (${action}); retry later`, {
      cause: error,
      details: { action },
    });
  }
  const message = error instanceof BaseError ? error.shortMessage : 'unexpected chain error';
  return new CareLedgerError('ERR_CHAIN_REVERTED', `${action} was rejected by the chain: ${message}`, {
    cause: error,
    details: { action },
  });
}
