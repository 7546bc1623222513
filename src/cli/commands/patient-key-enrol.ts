import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { privateKeyToAccount } from 'viem/accounts';
import { enrolLedgerKeyOverHttp } from '../../enrolment/index.js';
import { CareLedgerError } from '../../errors/index.js';
import { openPatientKeystore } from '../../identity/index.js';
import { resolveDataDir, resolveNodeUrl } from '../data-dir.js';
import { UsageError } from '../exit-codes.js';
import { type PassphraseSource, readPassphrase } from './read-passphrase.js';

export interface PatientKeyEnrolIo extends PassphraseSource {
  readonly stdout?: { write(text: string): unknown };
  readonly fetch?: typeof fetch;
}

/**
 * `careledger patient key enrol <patient-id> --keystore <file>`: links the patient's ledger key to
 * their Patient record at a node (issue 14 item 12). The node issues a challenge naming itself, the
 * Patient and the key; the key signs it here (EIP-712), and the node links the key only if the
 * signature is that key's. The key never leaves this machine.
 */
export function registerPatientKeyEnrolCommand(key: Command, io: PatientKeyEnrolIo = {}): void {
  key
    .command('enrol')
    .description("link a patient's ledger key to their Patient record at a node, with the key's signature")
    .argument('<patient-id>', 'the Patient id at that node')
    .requiredOption('--keystore <file>', "the patient's keystore (careledger patient key create)")
    .option('--node <url>', "the member node (default: the demo's hospital)")
    .option(
      '--token <token>',
      'an access token of the desk (registrar) or of the patient (default $CARELEDGER_TOKEN)',
    )
    .option('--json', 'print { patient, address, previous, changed } as JSON')
    .addHelpText(
      'after',
      `
At the registration desk, with the patient present: the registrar's token authenticates the request,
the patient types the keystore passphrase ($CARELEDGER_PASSPHRASE if set, else on the terminal
without echo), and the key signs the node's challenge (single use, valid 10 minutes). The node
links the key and audits who enrolled it. A patient may enrol their own first key with their own
token. Replacing a linked key needs the privacy officer's token and a proof by the new key.

Exit status: 0 linked, 64 bad usage, 65 wrong passphrase, 77 refused (not allowed, or a key is
linked already), 69 the node refused the proof or could not be reached.

Example:
  $ careledger patient key enrol 6c0f… --keystore ~/careledger/keystore.json --token "$REGISTRAR_TOKEN"`,
    )
    .action(
      async (
        patientId: string,
        options: { keystore: string; node?: string; token?: string; json?: boolean },
        command: Command,
      ) => {
        const token = options.token ?? process.env.CARELEDGER_TOKEN;
        if (token === undefined || token === '') {
          throw new UsageError('add --token <token> (or set $CARELEDGER_TOKEN): the desk’s or the patient’s');
        }
        const node = resolveNodeUrl(
          resolveDataDir(command.optsWithGlobals<{ dataDir?: string }>().dataDir),
          options.node,
        );
        let keystore: string;
        try {
          keystore = readFileSync(options.keystore, 'utf8');
        } catch (cause) {
          throw new CareLedgerError('ERR_NOT_FOUND', `cannot read the keystore ${options.keystore}`, {
            cause,
          });
        }
        const passphrase = await readPassphrase(io, { question: 'Keystore passphrase: ', confirm: false });
        const account = privateKeyToAccount(await openPatientKeystore(keystore, passphrase));
        const result = await enrolLedgerKeyOverHttp({
          fhirBaseUrl: `${node}/fhir`,
          patientId,
          account,
          headers: { authorization: `Bearer ${token}` },
          ...(io.fetch === undefined ? {} : { fetch: io.fetch }),
        });
        const out = io.stdout ?? process.stdout;
        out.write(
          options.json === true
            ? `${JSON.stringify(result, null, 2)}\n`
            : `linked ${result.address} to ${result.patient} at ${node}${
                result.previous !== null && result.previous !== result.address
                  ? ` (replacing ${result.previous})`
                  : ''
              }\n`,
        );
      },
    );
}
