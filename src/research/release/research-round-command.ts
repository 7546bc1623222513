/**
 * `careledger research release <study> --out <dir>` (issue 18 item 6, decision 0041): as the research
 * member's operator, start one release round across every member holding data at the research node,
 * follow it, and download each member's files and manifest into `<dir>/<member address>/`, ready for
 * `careledger research verify`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Hex } from 'viem';
import { resolveDataDir } from '../../cli/data-dir.js';
import { CareLedgerError } from '../../errors/index.js';
import { operatorTarget, parseStudyId } from '../ledger/research-cli.js';
import { fileNameOf, type ReleaseManifest } from './release-manifest.js';

interface RoundView {
  id: string;
  state: 'running' | 'done' | 'failed';
  members: {
    address: Hex;
    name: string;
    state: string;
    progress?: string;
    manifest?: ReleaseManifest;
    error?: string;
  }[];
}

export interface ReleaseRoundOptions {
  /** The research member's node and its operator token. */
  readonly url: string;
  readonly token: string;
  readonly studyId: Hex;
  readonly outDir: string;
  /** Waits between status requests; injected so tests need not wait. */
  readonly sleep?: (seconds: number) => Promise<void>;
  readonly say?: (line: string) => void;
  readonly fetch?: typeof fetch;
}

/** Starts the round, follows it to the end, and saves each member's release; returns the round. */
export async function runReleaseRound(options: ReleaseRoundOptions): Promise<RoundView> {
  const doFetch = options.fetch ?? fetch;
  const say = options.say ?? (() => undefined);
  const sleep = options.sleep ?? ((s: number) => new Promise<void>((r) => setTimeout(r, s * 1000)));
  const call = async (path: string, init: RequestInit = {}): Promise<Response> => {
    let response: Response;
    try {
      response = await doFetch(`${options.url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${options.token}`, ...(init.headers as Record<string, string>) },
      });
    } catch (cause) {
      throw new CareLedgerError('ERR_UPSTREAM', `${options.url} does not answer`, { cause });
    }
    if (!response.ok) {
      const body = (await response.json().catch(() => ({}))) as { issue?: { diagnostics?: string }[] };
      throw new CareLedgerError(
        response.status === 404
          ? 'ERR_NOT_FOUND'
          : response.status === 412
            ? 'ERR_PRECONDITION_FAILED'
            : 'ERR_UPSTREAM',
        body.issue?.[0]?.diagnostics ?? `HTTP ${response.status}`,
      );
    }
    return response;
  };
  let round = (await (
    await call('/admin/research/releases', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ studyId: options.studyId }),
    })
  ).json()) as RoundView;
  const said = new Map<string, string>();
  while (round.state === 'running') {
    for (const m of round.members) {
      const line = `  ${m.name}: ${m.state === 'running' ? (m.progress ?? 'in progress') : m.state}`;
      if (said.get(m.address) !== line) say(line);
      said.set(m.address, line);
    }
    await sleep(1);
    round = (await (await call(`/admin/research/releases/${round.id}`)).json()) as RoundView;
  }
  if (round.state === 'failed') {
    const failed = round.members.filter((m) => m.state === 'failed');
    throw new CareLedgerError(
      'ERR_UPSTREAM',
      `the release round failed at ${failed.map((m) => `${m.name} (${m.error ?? 'no reason'})`).join(', ')}`,
    );
  }
  for (const member of round.members) {
    const manifest = member.manifest as ReleaseManifest;
    const dir = join(options.outDir, member.address);
    mkdirSync(dir, { recursive: true });
    for (const entry of [...manifest.output, ...manifest.error]) {
      const name = fileNameOf(entry);
      const file = await call(`/admin/research/releases/${round.id}/files/${member.address}/${name}`);
      writeFileSync(join(dir, name), Buffer.from(await file.arrayBuffer()), { mode: 0o600 });
    }
    writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    say(`  ${member.name}: ${manifest.extension.counts.records} records in ${dir}`);
  }
  return round;
}

export function registerReleaseRoundCommand(program: Command, research: Command): void {
  research
    .command('release')
    .description(
      'release a study from every member holding data (one k round), as the research member, and download it',
    )
    .argument('<study>', 'the study id (0x…) or the protocol id it was proposed under')
    .requiredOption('--out <dir>', 'folder for one sub-folder per member: its NDJSON files and manifest.json')
    .option('--node <name>', 'the research member node (its folder under the data dir)', 'research')
    .option('--url <url>', "the node's base URL (default: from its node.json)")
    .option('--token-file <file>', "the node operator's token (default: the node folder's admin.token)")
    .option('--json', 'print the round as JSON')
    .addHelpText(
      'after',
      `
Example:
  $ careledger research release lakeside-diabetes-2026 --out release
  $ careledger research verify release/<member address>/manifest.json --dir release/<member address>`,
    )
    .action(
      async (
        id: string,
        o: { out: string; node: string; url?: string; tokenFile?: string; json?: boolean },
      ) => {
        const { url, token } = operatorTarget(
          resolveDataDir(program.opts<{ dataDir?: string }>().dataDir),
          o,
        );
        const round = await runReleaseRound({
          url,
          token,
          studyId: parseStudyId(id),
          outDir: o.out,
          ...(o.json === true ? {} : { say: (line: string) => process.stderr.write(`${line}\n`) }),
        });
        process.stdout.write(
          o.json === true
            ? `${JSON.stringify(round, null, 2)}\n`
            : `released by ${round.members.length} members into ${o.out}; check each with careledger research verify\n`,
        );
      },
    );
}
