import { existsSync, readFileSync, statSync } from 'node:fs';
import { type Hex, isHex } from 'viem';
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { CareLedgerError } from '../errors/index.js';

/**
 * An existing secp256k1 account key (deployer or member): a 0x-hex file readable by its owner only.
 * Unlike the node's own key, never created here: a production key is made once, on purpose.
 */
export function loadAccountKeyFile(path: string, what = 'key'): PrivateKeyAccount {
  if (!existsSync(path)) throw new CareLedgerError('ERR_CONFIG', `the ${what} file ${path} does not exist`);
  if ((statSync(path).mode & 0o077) !== 0)
    throw new CareLedgerError(
      'ERR_CONFIG',
      `the ${what} file ${path} must be readable by its owner only (chmod 600)`,
    );
  const text = readFileSync(path, 'utf8').trim();
  if (!isHex(text) || text.length !== 66)
    throw new CareLedgerError('ERR_CONFIG', `the ${what} file ${path} does not hold a 32-byte hex key`);
  return privateKeyToAccount(text as Hex);
}
