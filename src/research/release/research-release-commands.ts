/**
 * `careledger research export` and `careledger research verify` (issue 18 item 6): a researcher's
 * client for a study release, and the check of a download against the chain. Registered into RA's
 * `careledger research` group by {@link registerResearchReleaseCommands}.
 */
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Command } from 'commander';
import type { Hex } from 'viem';
import { CareLedgerError, type ErrorCode } from '../../errors/index.js';
import { fileNameOf, parseReleaseManifest, type ReleaseManifest } from './release-manifest.js';
import { registerReleaseRoundCommand } from './research-round-command.js';
import { createNodeAnchorLookup, type VerifiedRelease, verifyRelease } from './verify-release.js';

export interface ResearchClientOptions {
  /** The member node, e.g. http://127.0.0.1:8701. */
  readonly nodeUrl: string;
  /** A SMART access token of the research member's backend service; else development headers. */
  readonly token?: string;
  /** Development identity: `Organization/<research member address>`. */
  readonly identity?: string;
  readonly fetch?: typeof fetch;
}

export interface ResearchExportOptions extends ResearchClientOptions {
  readonly studyId: Hex;
  readonly outDir: string;
  /** Waits between status requests (Retry-After seconds); injected so tests need not wait. */
  readonly sleep?: (seconds: number) => Promise<void>;
  readonly say?: (line: string) => void;
}

const STATUS_ERRORS: Readonly<Record<number, ErrorCode>> = {
  400: 'ERR_INVALID_INPUT',
  401: 'ERR_UNAUTHENTICATED',
  403: 'ERR_FORBIDDEN',
  404: 'ERR_NOT_FOUND',
  410: 'ERR_GONE',
  412: 'ERR_PRECONDITION_FAILED',
  429: 'ERR_RATE_LIMITED',
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

function headersOf(options: ResearchClientOptions): Record<string, string> {
  if (options.token !== undefined) return { authorization: `Bearer ${options.token}` };
  return {
    'x-careledger-identity': options.identity ?? 'Organization/researcher',
    'x-careledger-purpose': 'HRESCH',
  };
}

function caller(options: ResearchClientOptions) {
  const doFetch = options.fetch ?? fetch;
  const headers = headersOf(options);
  return async (url: string, init: RequestInit = {}): Promise<Response> => {
    try {
      return await doFetch(url, {
        ...init,
        headers: { ...headers, ...(init.headers as Record<string, string>) },
      });
    } catch (cause) {
      throw new CareLedgerError('ERR_CHAIN_UNAVAILABLE', `${new URL(url).origin} does not answer`, { cause });
    }
  };
}

const defaultSleep = (seconds: number) => new Promise<void>((resolve) => setTimeout(resolve, seconds * 1000));

/** Kick-off, polling (Retry-After, X-Progress), then every file downloaded and manifest.json saved. */
export async function runResearchExport(options: ResearchExportOptions): Promise<ReleaseManifest> {
  const call = caller(options);
  const sleep = options.sleep ?? defaultSleep;
  const say = options.say ?? (() => undefined);
  const base = options.nodeUrl.replace(/\/$/, '');
  const kicked = await call(`${base}/research/studies/${options.studyId}/$export`, {
    method: 'POST',
    headers: { accept: 'application/fhir+json', prefer: 'respond-async' },
  });
  if (kicked.status !== 202) throw await failure(kicked, 'release refused');
  const statusUrl = kicked.headers.get('content-location');
  if (statusUrl === null) throw new CareLedgerError('ERR_UPSTREAM', 'the kick-off named no status URL');
  const statusPath = new URL(statusUrl).pathname;
  let manifest: ReleaseManifest | undefined;
  let lastProgress = '';
  while (manifest === undefined) {
    const status = await call(`${base}${statusPath}`, { headers: { accept: 'application/json' } });
    if (status.status === 200) manifest = parseReleaseManifest(await status.json());
    else if (status.status === 202) {
      const progress = status.headers.get('x-progress') ?? 'in progress';
      if (progress !== lastProgress) say(`  ${progress}`);
      lastProgress = progress;
      const retryAfter = Number(status.headers.get('retry-after') ?? '2');
      await sleep(Number.isFinite(retryAfter) && retryAfter >= 0 ? Math.min(retryAfter, 60) : 2);
    } else throw await failure(status, 'the release failed');
  }
  mkdirSync(options.outDir, { recursive: true });
  for (const entry of [...manifest.output, ...manifest.error]) {
    const name = fileNameOf(entry);
    const response = await call(`${base}${new URL(entry.url).pathname}`, {
      headers: { accept: 'application/fhir+ndjson' },
    });
    if (response.status !== 200 || response.body === null)
      throw await failure(response, `download of ${name}`);
    await pipeline(
      Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      createWriteStream(join(options.outDir, name), { mode: 0o600 }),
    );
    say(`  ${name}: ${entry.count} ${entry.type}`);
  }
  writeFileSync(join(options.outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, {
    mode: 0o600,
  });
  return manifest;
}

export interface ResearchVerifyOptions extends ResearchClientOptions {
  readonly manifestPath: string;
  readonly dir: string;
}

/** `careledger research verify`: the node defaults to the one named in the manifest's request URL. */
export async function runResearchVerify(options: ResearchVerifyOptions): Promise<VerifiedRelease> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(options.manifestPath, 'utf8'));
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CareLedgerError(
      missing ? 'ERR_NOT_FOUND' : 'ERR_INVALID_INPUT',
      missing ? 'no such manifest file' : 'the manifest is not JSON',
      { cause },
    );
  }
  const lookup = createNodeAnchorLookup(options.nodeUrl, headersOf(options), options.fetch);
  return verifyRelease(json, options.dir, lookup);
}

interface ClientFlags {
  node?: string;
  token?: string;
  identity?: string;
  json?: boolean;
}

function clientOf(flags: ClientFlags, fallbackNode: string): ResearchClientOptions {
  const token = flags.token ?? (process.env.CARELEDGER_TOKEN || undefined);
  return {
    nodeUrl: flags.node ?? fallbackNode,
    ...(token === undefined ? {} : { token }),
    ...(flags.identity === undefined ? {} : { identity: flags.identity }),
  };
}

/** Adds `export` and `verify` to the `careledger research` command group (created if not there yet). */
export function registerResearchReleaseCommands(program: Command): void {
  const research =
    program.commands.find((c) => c.name() === 'research') ??
    program
      .command('research')
      .description('research studies: proposal, approval, patients joining, releases');
  registerReleaseRoundCommand(program, research);
  research
    .command('export')
    .description("a study's de-identified release from one member node: kick off, wait, download NDJSON")
    .argument('<studyId>', 'the study id (0x + 64 hex digits)')
    .requiredOption('--out <dir>', 'folder for the NDJSON files and manifest.json')
    .option('--node <url>', 'the member node holding data', 'http://127.0.0.1:8701')
    .option('--token <token>', "the research member's access token (default $CARELEDGER_TOKEN)")
    .option(
      '--identity <who>',
      'development identity Organization/<research member address>, without a token',
    )
    .option('--json', 'print the manifest as JSON')
    .action(async (studyId: string, flags: ClientFlags & { out: string }) => {
      if (!/^0x[0-9a-fA-F]{64}$/.test(studyId)) {
        throw new CareLedgerError('ERR_INVALID_INPUT', 'a study id is 0x and 64 hex digits');
      }
      const manifest = await runResearchExport({
        ...clientOf(flags, 'http://127.0.0.1:8701'),
        studyId: studyId.toLowerCase() as Hex,
        outDir: flags.out,
        ...(flags.json === true ? {} : { say: (line: string) => process.stderr.write(`${line}\n`) }),
      });
      const { records, suppressedPatients } = manifest.extension.counts;
      process.stdout.write(
        flags.json === true
          ? `${JSON.stringify(manifest, null, 2)}\n`
          : `${records} de-identified resources in ${manifest.output.length} files written to ${flags.out} (${suppressedPatients} patients suppressed for k)\n`,
      );
    });
  research
    .command('verify')
    .description('check a downloaded release: every file hash, and the manifest hash against the chain')
    .argument('<manifest>', 'the manifest.json of the download')
    .requiredOption('--dir <dir>', 'the folder the release files were downloaded to')
    .option('--node <url>', "a member node to read the chain through (default: the manifest's own node)")
    .option('--token <token>', 'an access token for the node (default $CARELEDGER_TOKEN)')
    .option('--identity <who>', 'development identity, without a token')
    .option('--json', 'print the result as JSON')
    .action(async (manifestPath: string, flags: ClientFlags & { dir: string }) => {
      let fallback = 'http://127.0.0.1:8701';
      try {
        fallback = new URL((JSON.parse(readFileSync(manifestPath, 'utf8')) as { request: string }).request)
          .origin;
      } catch {
        // runResearchVerify reports an unreadable manifest
      }
      const result = await runResearchVerify({ ...clientOf(flags, fallback), manifestPath, dir: flags.dir });
      process.stdout.write(
        flags.json === true
          ? `${JSON.stringify({ manifestHash: result.manifestHash, files: result.files, anchor: result.anchor }, null, 2)}\n`
          : `verified: ${result.files.length} files match the manifest, and manifest ${result.manifestHash} is anchored for study ${result.manifest.extension.studyId}\n`,
      );
    });
}
