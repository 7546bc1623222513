import { join } from 'node:path';
import type { Command } from 'commander';
import { CareLedgerError } from '../../errors/index.js';
import { resolveDataDir, resolveNodeUrl } from '../data-dir.js';
import type { ProgressStream } from '../progress-bar.js';
import { type ImportResult, runImport } from './import.js';
import { formatImportSummary } from './import-summary.js';
import type { CommandOutput } from './proof-verify.js';

export interface ImportCommandIo {
  readonly stdout?: CommandOutput;
  readonly stderr?: ProgressStream;
  readonly fetch?: typeof fetch;
  /** Process exit, for the interrupted case (130); injected by tests. */
  readonly exit?: (code: number) => void;
}

function parseConcurrency(value: string): number {
  if (!/^[1-9][0-9]{0,2}$/.test(value))
    throw new CareLedgerError('ERR_INVALID_INPUT', '--concurrency must be an integer from 1 to 999');
  return Number(value);
}

function parseBatchSize(value: string): number {
  if (!/^[1-9][0-9]{0,3}$/.test(value) || Number(value) > 1000)
    throw new CareLedgerError('ERR_INVALID_INPUT', '--batch must be an integer from 1 to 1000');
  return Number(value);
}

/** Adds `careledger import`. */
export function registerImportCommand(program: Command, io: ImportCommandIo = {}): void {
  program
    .command('import')
    .description('load FHIR resources (transaction Bundles, bulk-data NDJSON) into a member node')
    .argument('<paths...>', 'files, or folders whose *.json and *.ndjson files are all imported')
    .option(
      '--node <url>',
      "the member node, e.g. http://127.0.0.1:8701 (FHIR under /fhir); default: the demo's hospital",
    )
    .option('--concurrency <n>', 'requests in flight', '8')
    .option('--batch <n>', 'resources per transaction Bundle (1: one PUT per resource)', '100')
    .option('--identity <who>', 'X-CareLedger-Identity (development authentication)', 'Practitioner/importer')
    .option('--purpose <code>', 'X-CareLedger-Purpose', 'TREAT')
    .option('--report <file>', 'the failure report (default: <data-dir>/import-report.json)')
    .option('--restart', 'ignore what earlier runs did (state in <data-dir>/import-state.json)')
    .option('--json', 'print the summary as JSON')
    .option('--quiet', 'no progress bar')
    .addHelpText(
      'after',
      `
Resources are written as PUT <Type>/<id> entries of transaction Bundles (--batch at a time, one
commit each), so each keeps its id; if the node refuses a Bundle, its resources are sent one by one
with PUT <node>/fhir/<Type>/<id>, so each failure is reported on its own. In a Bundle, the
entries' urn:uuid fullUrls become Type/<uuid> and every reference to them is rewritten.
Conditional references (Type?identifier=...) become Type/<id> of the one resource they name, found
among the imported files or else on the node; one that names none or several is sent as it is and
counted. Resource types the node does not serve are skipped and counted per type. A 503 or a connection error is retried up to 5 times.

Progress is saved in <data-dir>/import-state.json every 200 resources: run the same command again
after Ctrl-C or a crash and it resumes. The report lists each failure with its file, line or entry,
type, id, HTTP status and the node's diagnostics (never the resource content).

Exit status: 0 if nothing failed (skipped types are fine), 65 if some resources failed, 130 if
interrupted.

Example:
  $ careledger import ./synthea-r4 --node http://127.0.0.1:8701
  $ careledger import Patient.000.ndjson Encounter.000.ndjson --node http://127.0.0.1:8701 --json`,
    )
    .action(
      async (
        paths: string[],
        options: {
          node?: string;
          concurrency: string;
          batch: string;
          identity: string;
          purpose: string;
          report?: string;
          restart?: boolean;
          json?: boolean;
          quiet?: boolean;
        },
      ) => {
        const dataDir = resolveDataDir(program.opts<{ dataDir?: string }>().dataDir);
        const nodeUrl = resolveNodeUrl(dataDir, options.node);
        const soft = new AbortController();
        const hard = new AbortController();
        const onSignal = () => {
          if (!soft.signal.aborted) {
            process.stderr.write(
              '\ninterrupted: finishing the requests in flight (Ctrl-C again to stop now)\n',
            );
            soft.abort();
          } else hard.abort();
        };
        process.on('SIGINT', onSignal);
        let result: ImportResult;
        try {
          result = await runImport({
            inputs: paths,
            nodeUrl,
            concurrency: parseConcurrency(options.concurrency),
            batchSize: parseBatchSize(options.batch),
            identity: options.identity,
            purpose: options.purpose,
            reportFile: options.report ?? join(dataDir, 'import-report.json'),
            stateFile: join(dataDir, 'import-state.json'),
            restart: options.restart === true,
            signal: soft.signal,
            hardSignal: hard.signal,
            quiet: options.quiet === true,
            ...(io.stderr === undefined ? {} : { progress: io.stderr }),
            ...(io.fetch === undefined ? {} : { fetch: io.fetch }),
          });
        } finally {
          process.off('SIGINT', onSignal);
        }
        const { summary } = result;
        const stdout = io.stdout ?? process.stdout;
        stdout.write(
          options.json === true
            ? `${JSON.stringify(summary, null, 2)}\n`
            : `${formatImportSummary(summary)}\n`,
        );
        if (summary.interrupted) {
          (io.exit ?? process.exit)(130);
          return;
        }
        if (summary.failed > 0)
          throw new CareLedgerError(
            'ERR_INVALID_INPUT',
            `${summary.failed} resource(s) failed; see ${summary.reportFile}`,
          );
      },
    );
}
