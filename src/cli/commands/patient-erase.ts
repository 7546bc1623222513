import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CareLedgerError } from '../../errors/index.js';
import { loadNodeConfig, nodePaths } from '../../node/node-config.js';
import { nodeDir, resolveDataDir } from '../data-dir.js';
import { UsageError } from '../exit-codes.js';
import { requestJson } from '../http-json.js';
import { registerPatientKeyCommands } from './patient-key.js';

export interface EraseOptions {
  readonly dataDir: string;
  /** The member node's folder name under the data dir (default hospital). */
  readonly node: string;
  /** Overrides of the node's URL and operator token (for a node not under the data dir). */
  readonly url?: string;
  readonly tokenFile?: string;
}

/** Asks a node to crypto-shred one patient's records, as its operator. */
export async function erasePatient(
  patientId: string,
  options: EraseOptions,
): Promise<{ patient: string; erasedAt: string; keyVersions: number; alreadyErased: boolean }> {
  const dir = nodeDir(options.dataDir, options.node);
  let url = options.url;
  let tokenFile = options.tokenFile;
  if (url === undefined || tokenFile === undefined) {
    if (!existsSync(dir)) {
      throw new CareLedgerError(
        'ERR_CONFIG',
        `no node "${options.node}" under ${options.dataDir}; pass --url and --token-file`,
      );
    }
    url ??= loadNodeConfig(dir).publicUrl;
    tokenFile ??= nodePaths(dir).adminToken;
  }
  const token = readFileSync(tokenFile, 'utf8').trim();
  return requestJson(`${url.replace(/\/$/, '')}/admin/patients/${encodeURIComponent(patientId)}/erase`, {
    method: 'POST',
    token,
  });
}

export function registerPatientCommands(program: Command): void {
  const patient = program
    .command('patient')
    .description("a patient's records at a member node, and their ledger key");
  patient
    .command('erase')
    .description(
      "crypto-shred a patient's records: their data keys are destroyed, reads answer 410 Gone, the log and its proofs stay valid",
    )
    .argument('<id>', 'the Patient resource id at that node')
    .option('--node <name>', 'the member node (its folder under the data dir)', 'hospital')
    .option('--url <url>', "the node's base URL (default: from its node.json)")
    .option('--token-file <file>', "the node operator's token (default: the node folder's admin.token)")
    .option('--yes', 'confirm: erasure cannot be undone')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Erasure destroys the keys, not the history: AuditEvents of who read the records (sealed under the
node key) and the transparency log entries (keyed hashes, no PHI) remain, so every proof still
verifies and the patient can still see who accessed their data before it was erased.

Example:
  $ careledger patient erase 6c0f…-… --node hospital --yes`,
    )
    .action(
      async (
        id: string,
        options: { node: string; url?: string; tokenFile?: string; yes?: boolean; json?: boolean },
      ) => {
        if (options.yes !== true) {
          throw new UsageError('erasure cannot be undone: add --yes to confirm');
        }
        const result = await erasePatient(id, {
          dataDir: resolveDataDir(program.opts<{ dataDir?: string }>().dataDir),
          node: options.node,
          ...(options.url === undefined ? {} : { url: options.url }),
          ...(options.tokenFile === undefined ? {} : { tokenFile: options.tokenFile }),
        });
        process.stdout.write(
          options.json === true
            ? `${JSON.stringify(result)}\n`
            : result.alreadyErased
              ? `${result.patient} was already erased at ${result.erasedAt}\n`
              : `${result.patient} erased at ${result.erasedAt}: ${result.keyVersions} data key version(s) destroyed\n`,
        );
      },
    );
  registerPatientKeyCommands(patient);
}
