import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Command } from 'commander';
import { CareLedgerError, type ErrorCode } from '../../errors/index.js';
import type { ProgressStream } from '../progress-bar.js';

/** A Bulk Data manifest (export.html#response---complete-status). */
export interface ExportManifest {
  readonly transactionTime: string;
  readonly request: string;
  readonly requiresAccessToken: boolean;
  readonly output: readonly { type: string; url: string; count?: number }[];
  readonly error: readonly { type: string; url: string; count?: number }[];
}

export interface ExportOptions {
  /** The member node, e.g. http://127.0.0.1:8701 (its FHIR API is under /fhir). */
  readonly nodeUrl: string;
  readonly level: 'system' | 'patient' | 'group';
  readonly groupId?: string;
  readonly types?: readonly string[];
  readonly since?: string;
  readonly typeFilters?: readonly string[];
  /** The folder the files and manifest.json are written to. */
  readonly outDir: string;
  /** A SMART access token (Backend Services or a staff user's); else development identity headers. */
  readonly token?: string;
  readonly identity?: string;
  readonly roles?: string;
  readonly purpose?: string;
  readonly fetch?: typeof fetch;
  /** Waits between status requests (Retry-After seconds); injected so tests need not wait. */
  readonly sleep?: (seconds: number) => Promise<void>;
  readonly progress?: ProgressStream;
  readonly quiet?: boolean;
}

export interface ExportResult {
  readonly manifest: ExportManifest;
  readonly files: readonly { type: string; path: string; lines: number }[];
  readonly resources: number;
}

const STATUS_ERRORS: Readonly<Record<number, ErrorCode>> = {
  400: 'ERR_INVALID_INPUT',
  401: 'ERR_UNAUTHENTICATED',
  403: 'ERR_FORBIDDEN',
  404: 'ERR_NOT_FOUND',
  410: 'ERR_GONE',
  500: 'ERR_INTERNAL',
  503: 'ERR_STORAGE',
};

/** An error answer as a CareLedgerError: its status decides the code (and so the exit code). */
async function failure(response: Response, what: string): Promise<CareLedgerError> {
  let diagnostics: string | undefined;
  try {
    diagnostics = ((await response.json()) as { issue?: { diagnostics?: string }[] }).issue?.[0]?.diagnostics;
  } catch {
    // not an OperationOutcome
  }
  return new CareLedgerError(
    STATUS_ERRORS[response.status] ?? (response.status >= 500 ? 'ERR_UPSTREAM' : 'ERR_INVALID_INPUT'),
    `${what}: ${diagnostics ?? `HTTP ${response.status}`}`,
    { details: { status: response.status } },
  );
}

const defaultSleep = (seconds: number) => new Promise<void>((resolve) => setTimeout(resolve, seconds * 1000));

/**
 * A Bulk Data v2 client: kick-off, status polling (honouring Retry-After, showing X-Progress), then
 * every output and error file downloaded (streamed to disk) and the manifest saved beside them.
 */
export async function runExport(options: ExportOptions): Promise<ExportResult> {
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? defaultSleep;
  const out = options.progress ?? process.stderr;
  const say = (line: string) => {
    if (options.quiet !== true) out.write(`${line}\n`);
  };
  const auth: Record<string, string> =
    options.token !== undefined
      ? { authorization: `Bearer ${options.token}` }
      : {
          'x-careledger-identity': options.identity ?? 'Practitioner/exporter',
          ...(options.roles === undefined ? {} : { 'x-careledger-roles': options.roles }),
          'x-careledger-purpose': options.purpose ?? 'TREAT',
        };
  const base = options.nodeUrl.replace(/\/$/, '');
  const path =
    options.level === 'system'
      ? '/fhir/$export'
      : options.level === 'patient'
        ? '/fhir/Patient/$export'
        : `/fhir/Group/${encodeURIComponent(options.groupId ?? '')}/$export`;
  const query = new URLSearchParams();
  if (options.types !== undefined && options.types.length > 0) query.set('_type', options.types.join(','));
  if (options.since !== undefined) query.set('_since', options.since);
  for (const filter of options.typeFilters ?? []) query.append('_typeFilter', filter);
  const call = async (url: string, init: RequestInit = {}): Promise<Response> => {
    try {
      return await doFetch(url, {
        ...init,
        headers: { ...auth, ...(init.headers as Record<string, string>) },
      });
    } catch (cause) {
      throw new CareLedgerError('ERR_CHAIN_UNAVAILABLE', `${new URL(url).origin} does not answer`, { cause });
    }
  };

  const kicked = await call(`${base}${path}${query.size === 0 ? '' : `?${query}`}`, {
    headers: { accept: 'application/fhir+json', prefer: 'respond-async' },
  });
  if (kicked.status !== 202) throw await failure(kicked, 'kick-off refused');
  const statusUrl = kicked.headers.get('content-location');
  if (statusUrl === null) throw new CareLedgerError('ERR_UPSTREAM', 'the kick-off named no status URL');
  // The node names its public URL; the status is asked where the kick-off went.
  const statusPath = new URL(statusUrl).pathname;
  say(`export accepted: ${statusPath.slice(statusPath.lastIndexOf('/') + 1)}`);

  let manifest: ExportManifest | undefined;
  let lastProgress = '';
  while (manifest === undefined) {
    const status = await call(`${base}${statusPath}`, { headers: { accept: 'application/json' } });
    if (status.status === 200) manifest = (await status.json()) as ExportManifest;
    else if (status.status === 202) {
      const progress = status.headers.get('x-progress') ?? 'in progress';
      if (progress !== lastProgress) say(`  ${progress}`);
      lastProgress = progress;
      const retryAfter = Number(status.headers.get('retry-after') ?? '2');
      await sleep(Number.isFinite(retryAfter) && retryAfter >= 0 ? Math.min(retryAfter, 60) : 2);
    } else throw await failure(status, 'the export failed');
  }

  mkdirSync(options.outDir, { recursive: true });
  const files: { type: string; path: string; lines: number }[] = [];
  let resources = 0;
  for (const entry of [...manifest.output, ...manifest.error]) {
    const url = new URL(entry.url);
    const name = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
    if (!/^[A-Za-z0-9.-]{1,80}$/.test(name))
      throw new CareLedgerError('ERR_UPSTREAM', 'a file URL has an unsafe name');
    const response = await call(`${base}${url.pathname}`, { headers: { accept: 'application/fhir+ndjson' } });
    if (response.status !== 200 || response.body === null)
      throw await failure(response, `download of ${name}`);
    const target = join(options.outDir, name);
    let lines = 0;
    const counted = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
    counted.on('data', (chunk: Buffer) => {
      for (const byte of chunk) if (byte === 0x0a) lines++;
    });
    await pipeline(counted, createWriteStream(target, { mode: 0o600 }));
    if (entry.count !== undefined && entry.count !== lines)
      throw new CareLedgerError(
        'ERR_UPSTREAM',
        `${name} has ${lines} lines, the manifest says ${entry.count}`,
      );
    files.push({ type: entry.type, path: target, lines });
    if (manifest.output.includes(entry)) resources += lines;
    say(`  ${name}: ${lines} ${entry.type}`);
  }
  writeFileSync(join(options.outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, {
    mode: 0o600,
  });
  return { manifest, files, resources };
}

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description(
      'FHIR Bulk Data $export from a member node: kick off, wait (showing progress), download NDJSON',
    )
    .requiredOption('--out <dir>', 'folder for the NDJSON files and manifest.json')
    .option('--node <url>', 'the member node', 'http://127.0.0.1:8701')
    .option('--group <id>', 'export the members of this Group (Group level)')
    .option('--patients', 'export every patient compartment (Patient level)')
    .option('--type <types>', 'resource types, comma-separated (_type)')
    .option('--since <instant>', 'only resources updated after this FHIR instant (_since)')
    .option('--type-filter <query...>', 'Type?search-query, one or more (_typeFilter)')
    .option('--token <token>', 'a SMART access token (default $CARELEDGER_TOKEN)')
    .option('--identity <who>', 'development identity (X-CareLedger-Identity) when no token is given')
    .option('--roles <roles>', 'development staff roles (X-CareLedger-Roles)')
    .option('--purpose <code>', 'HL7 v3 PurposeOfUse', 'TREAT')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ careledger export --out ./export --type Patient,Observation --token "$TOKEN"
  $ careledger export --out ./cohort --group cohort-1 --since 2026-01-01T00:00:00Z`,
    )
    .action(
      async (options: {
        out: string;
        node: string;
        group?: string;
        patients?: boolean;
        type?: string;
        since?: string;
        typeFilter?: string[];
        token?: string;
        identity?: string;
        roles?: string;
        purpose: string;
        json?: boolean;
      }) => {
        const token = options.token ?? (process.env.CARELEDGER_TOKEN || undefined);
        const result = await runExport({
          nodeUrl: options.node,
          level: options.group !== undefined ? 'group' : options.patients === true ? 'patient' : 'system',
          ...(options.group === undefined ? {} : { groupId: options.group }),
          ...(options.type === undefined ? {} : { types: options.type.split(',').map((t) => t.trim()) }),
          ...(options.since === undefined ? {} : { since: options.since }),
          ...(options.typeFilter === undefined ? {} : { typeFilters: options.typeFilter }),
          outDir: options.out,
          ...(token === undefined ? {} : { token }),
          ...(options.identity === undefined ? {} : { identity: options.identity }),
          ...(options.roles === undefined ? {} : { roles: options.roles }),
          purpose: options.purpose,
          quiet: options.json === true,
        });
        process.stdout.write(
          options.json === true
            ? `${JSON.stringify(result, null, 2)}\n`
            : `${result.resources} resources in ${result.manifest.output.length} files written to ${options.out}\n`,
        );
      },
    );
}
