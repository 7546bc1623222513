/**
 * `careledger research list|show|propose|vote|open|close` (issue 18 items 1 and 6, decision 0024):
 * the studies a node's index holds, and the operator's ledger writes at /admin/research, each answered
 * once mined. `propose --title --summary` sends the protocol document (decision 0035 §3): the node
 * keeps it, proposes its SHA-256 as the study's protocolHash, and serves it to the other members.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Hex } from 'viem';
import { resolveNodeUrl } from '../../cli/data-dir.js';
import { UsageError } from '../../cli/exit-codes.js';
import { requestJson } from '../../cli/http-json.js';
import { hashDeidProfile } from '../release/release-manifest.js';
import { SAFE_HARBOR_PROFILE_JSON } from '../safe-harbor-profile.js';
import {
  describeStudyText as describe,
  withOperatorOptions as operatorOptions,
  operatorTarget,
  parseDate,
  parseStudyId,
  type ResearchCli,
  resolveMembers,
  type StudyView,
} from './research-cli.js';
import { parseStudyProtocol } from './study-protocol.js';

function sha256File(path: string): Hex {
  return `0x${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
}

/**
 * The protocol as the proposal carries it: the document itself (`--title`, `--summary`), which the
 * node hashes and keeps, or only the hash of a file of the researcher's (`--protocol`).
 */
export function protocolOfOptions(o: {
  title?: string;
  summary?: string;
  protocol?: string;
}): { protocol: { title: string; summary: string } } | { protocolHash: Hex } {
  const document = o.title !== undefined || o.summary !== undefined;
  if (document && o.protocol !== undefined)
    throw new UsageError('give --title and --summary, or --protocol <file>, not both');
  if (document) {
    if (o.title === undefined || o.summary === undefined)
      throw new UsageError('a protocol document needs both --title and --summary');
    // The node checks it again; here a bad one is a usage error before any network call.
    try {
      return { protocol: parseStudyProtocol({ title: o.title, summary: o.summary }) };
    } catch (error) {
      throw new UsageError(`--title/--summary: ${(error as Error).message}`);
    }
  }
  if (o.protocol === undefined)
    throw new UsageError(
      'give the protocol: --title and --summary (patients read them), or --protocol <file>',
    );
  return { protocolHash: sha256File(o.protocol) };
}

export function registerStudyCommands(cli: ResearchCli): void {
  const { research, dataDir, print } = cli;
  research
    .command('list')
    .description('the studies in the consortium, from a node’s index')
    .option('--node <name|url>', 'the member node to ask (default: the demo’s hospital)')
    .option('--status <status>', 'proposed, approved, open or closed')
    .option('--json', 'print as JSON')
    .action(async (o: { node?: string; status?: string; json?: boolean }) => {
      const url = resolveNodeUrl(dataDir(), o.node);
      const query = o.status === undefined ? '' : `?status=${encodeURIComponent(o.status)}`;
      const { studies } = await requestJson<{ studies: StudyView[] }>(`${url}/research/studies${query}`);
      print(o.json, { studies }, studies.length === 0 ? 'no studies' : studies.map(describe).join('\n'));
    });

  research
    .command('show')
    .description('one study: status, period, k, categories, types, and what a patient would share')
    .argument('<study>', 'the study id (0x…) or the protocol id it was proposed under')
    .option('--node <name|url>', 'the member node to ask (default: the demo’s hospital)')
    .option('--json', 'print as JSON')
    .action(async (id: string, o: { node?: string; json?: boolean }) => {
      const url = resolveNodeUrl(dataDir(), o.node);
      const study = await requestJson<StudyView & { patientWouldShare: { form: string } }>(
        `${url}/research/studies/${parseStudyId(id)}`,
      );
      print(o.json, study, `${describe(study)}\n  a patient would share: ${study.patientWouldShare.form}`);
    });

  operatorOptions(
    research
      .command('propose')
      .description(
        'propose a study, as a research member (approved by its ethics boards or a member majority)',
      )
      .requiredOption('--id <id>', 'the study id: 0x + 64 hex, or the protocol’s own id (hashed)')
      .option('--title <text>', 'the study title patients read (up to 120 characters)')
      .option('--summary <text>', 'what the study does, in words a patient can read (up to 2,000 characters)')
      .option(
        '--protocol <file>',
        'instead of --title/--summary: a protocol file of yours (only its SHA-256 goes on chain)',
      )
      .option('--profile <file>', 'the de-identification profile JSON (default: the Safe Harbor profile)')
      .requiredOption(
        '--categories <list>',
        'data categories, comma-separated (e.g. demographics,laboratory)',
      )
      .requiredOption('--types <list>', 'FHIR resource types, comma-separated (e.g. Patient,Observation)')
      .option('--from <date>', 'start of the study period (default: now)')
      .option('--to <date>', 'end of the study period (default: one year on)')
      .option('--k <n>', 'minimum cohort size for k-anonymity', '5')
      .option(
        '--board <member>',
        'an ethics board: a member name (hospital) or address; repeat for more',
        (v: string, all: string[]) => [...all, v],
        [] as string[],
      ),
    'research',
  )
    .addHelpText(
      'after',
      `
Example:
  $ careledger research propose --id diabetes-2026 --title 'Diabetes outcomes (2026)' \\
      --summary 'How blood sugar changes over the years, from records without names or exact dates.' \\
      --categories demographics,laboratory --types Patient,Observation --k 5`,
    )
    .action(
      async (o: {
        id: string;
        title?: string;
        summary?: string;
        protocol?: string;
        profile?: string;
        categories: string;
        types: string;
        from?: string;
        to?: string;
        k: string;
        board: string[];
        node: string;
        url?: string;
        tokenFile?: string;
        json?: boolean;
      }) => {
        const protocol = protocolOfOptions(o);
        const { url, token } = operatorTarget(dataDir(), o);
        const k = Number(o.k);
        if (!Number.isSafeInteger(k)) throw new UsageError('--k must be an integer');
        const from = o.from === undefined ? new Date().toISOString() : parseDate(o.from, '--from');
        const to =
          o.to === undefined
            ? new Date(Date.parse(from) + 365 * 86_400_000).toISOString()
            : parseDate(o.to, '--to');
        const profile =
          o.profile === undefined
            ? SAFE_HARBOR_PROFILE_JSON
            : (JSON.parse(readFileSync(o.profile, 'utf8')) as unknown);
        const study = await requestJson<StudyView>(`${url}/admin/research/studies`, {
          token,
          timeoutMs: 120_000,
          body: {
            id: parseStudyId(o.id),
            ...protocol,
            profileHash: hashDeidProfile(profile),
            categories: o.categories.split(',').map((s) => s.trim()),
            resourceTypes: o.types.split(',').map((s) => s.trim()),
            notBefore: from,
            notAfter: to,
            k,
            ethicsBoards: await resolveMembers(url, o.board),
          },
        });
        print(o.json, study, `proposed\n${describe(study)}`);
      },
    );

  for (const [name, path, summary, defaultNode] of [
    [
      'vote',
      'approvals',
      'approve a proposed study as this member (an ethics board it names, or any other member)',
      'hospital',
    ],
    ['open', 'open', 'open an approved study, as its researcher: releases may begin', 'research'],
    [
      'close',
      'close',
      'close a study: its researcher closes it, another member votes to close it',
      'research',
    ],
  ] as const) {
    operatorOptions(
      research.command(name).description(summary).argument('<study>', 'the study id'),
      defaultNode,
    ).action(async (id: string, o: { node: string; url?: string; tokenFile?: string; json?: boolean }) => {
      const { url, token } = operatorTarget(dataDir(), o);
      const study = await requestJson<StudyView>(
        `${url}/admin/research/studies/${parseStudyId(id)}/${path}`,
        {
          method: 'POST',
          token,
          timeoutMs: 120_000,
        },
      );
      print(o.json, study, describe(study));
    });
  }
}
