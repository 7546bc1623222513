import type { Command } from 'commander';
import { CareLedgerError } from '../../errors/index.js';
import { loadOperatorSecret } from '../../node/node-keys.js';
import { initPkcs11Keys } from '../../vault/pkcs11-key-provider.js';
import { resolveDataDir } from '../data-dir.js';

/**
 * `careledger vault hsm-init`: creates the vault's key-encryption key (AES-256) and node-secret key
 * (HMAC) inside a PKCS#11 token, unless they exist, and prints the node.json `vaultKeys` to use.
 */
export function registerVaultCommands(
  program: Command,
  io: { stdout?: { write(text: string): unknown } } = {},
): void {
  const vault = program.command('vault').description("the vault's keys at rest");
  vault
    .command('hsm-init')
    .description('create the key-encryption key in a PKCS#11 token (HSM) if it is missing')
    .requiredOption('--module <path>', 'the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so')
    .requiredOption('--token-label <label>', 'the token (softhsm2-util --init-token --label ...)')
    .option('--key-label <label>', 'label of the key in the token', 'careledger-kek')
    .option(
      '--pin-file <path>',
      'the user PIN, in a 0600 file outside the data folder (else $CARELEDGER_HSM_PIN)',
    )
    .addHelpText(
      'after',
      `
The keys are generated inside the token, sensitive and not extractable. Then set in node.json:
  "vaultKeys": { "provider": "pkcs11", "module": "...", "tokenLabel": "...", "pinFile": "..." }`,
    )
    .action((options: { module: string; tokenLabel: string; keyLabel: string; pinFile?: string }) => {
      const dataDir = resolveDataDir(program.opts<{ dataDir?: string }>().dataDir);
      const pin =
        options.pinFile !== undefined
          ? loadOperatorSecret(options.pinFile, dataDir, 'HSM PIN')
          : process.env.CARELEDGER_HSM_PIN;
      if (pin === undefined || pin === '')
        throw new CareLedgerError(
          'ERR_CONFIG',
          'the HSM PIN is missing: set CARELEDGER_HSM_PIN or --pin-file',
        );
      const { keyId, created } = initPkcs11Keys({
        module: options.module,
        tokenLabel: options.tokenLabel,
        keyLabel: options.keyLabel,
        pin,
      });
      const vaultKeys = {
        provider: 'pkcs11',
        module: options.module,
        tokenLabel: options.tokenLabel,
        keyLabel: options.keyLabel,
        ...(options.pinFile === undefined ? {} : { pinFile: options.pinFile }),
      };
      (io.stdout ?? process.stdout).write(
        `${created ? 'created' : 'found'} key ${keyId} in token ${options.tokenLabel}\n` +
          `node.json: "vaultKeys": ${JSON.stringify(vaultKeys)}\n`,
      );
    });
}
