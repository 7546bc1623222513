/**
 * `careledger patient consent delegate-key --ward <address>`: a proxy's or guardian's delegate key for
 * one ward (decision 0021). It prints the key's address and its signed DelegateKey acceptance, which the
 * registrar (POST /admin/guardians) or the ward (POST /ledger/consent/delegations) registers; the
 * guardian then signs for the ward with `careledger patient consent grant --for <ward>`. Their own key
 * and address stay on this machine: the ledger sees only the per-ward address.
 */
import type { Command } from 'commander';
import { type Address, getAddress, type Hex, isAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createWardDelegate, deriveWardDelegateKey } from '../../consent/index.js';
import type { ConsentDomain } from '../../ledger/index.js';
import { UsageError } from '../exit-codes.js';

/** Parses --for / --ward: the ward's ledger address. */
export function parseWardOption(value: string): Address {
  if (!isAddress(value, { strict: false }))
    throw new UsageError(`${value} is not a ledger address (0x + 40 hex)`);
  return getAddress(value);
}

/**
 * Who signs and for whom: the holder's own key for themselves, or, with a ward, their delegate key for
 * that ward (never their own key, which would link them to the ward on the ledger).
 */
export function consentSigner(ownKey: Hex, ward: Address | undefined) {
  const account = privateKeyToAccount(ward === undefined ? ownKey : deriveWardDelegateKey(ownKey, ward));
  return { account, patient: ward ?? account.address };
}

export function registerDelegateKeyCommand(
  consent: Command,
  keyOptions: (command: Command) => Command,
  load: (options: Record<string, unknown>) => Promise<{ key: Hex; domain: ConsentDomain }>,
  out: () => { write(text: string): unknown },
): void {
  keyOptions(
    consent
      .command('delegate-key')
      .description(
        'your delegate key for one ward, as their proxy or guardian: its address and signed acceptance, to be registered; your own address is not shown to the ledger',
      )
      .requiredOption('--ward <address>', "the ward's ledger address")
      .option('--json', 'print { ward, delegate, delegateSignature } as JSON'),
  ).action(async (options: Record<string, unknown> & { ward: string; json?: boolean }) => {
    const ward = parseWardOption(options.ward);
    const { key, domain } = await load(options);
    const { delegate, delegateSignature } = await createWardDelegate(key, ward, domain);
    out().write(
      options.json === true
        ? `${JSON.stringify({ ward, delegate, delegateSignature }, null, 2)}\n`
        : `ward ${ward}\ndelegate ${delegate}\ndelegate signature ${delegateSignature}\n`,
    );
  });
}
