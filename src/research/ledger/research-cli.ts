/**
 * What the `careledger research` commands share (issue 18 item 6): the group itself, the study as a
 * node describes it, a study id from text, a member node's URL and operator token, and printing.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type Address, getAddress, type Hex, isAddress, keccak256, toHex } from 'viem';
import { nodeDir, resolveDataDir } from '../../cli/data-dir.js';
import { UsageError } from '../../cli/exit-codes.js';
import { requestJson } from '../../cli/http-json.js';
import { loadNodeConfig, nodePaths } from '../../node/node-config.js';

export interface CommandOutput {
  write(text: string): unknown;
}

export interface StudyView {
  id: Hex;
  status: string;
  /** The protocol document (title, summary) its node checked against the hash; null without one. */
  protocol?: { title: string; summary: string } | null;
  researcher: Address;
  k: number;
  categories: string[];
  resourceTypes: string[];
  period: { notBefore: string; notAfter: string; inPeriod: boolean };
  approvals: { by: Address[]; needed: number | null };
  releases: { manifestHash: Hex; records: number; contributors: number }[];
  join: { grantee: Address };
}

/** A study id: 0x + 64 hex as given, or keccak256 of any other text (a protocol's own id). */
export function parseStudyId(text: string): Hex {
  if (/^0x[0-9a-fA-F]{64}$/.test(text)) return text.toLowerCase() as Hex;
  if (text.trim() === '') throw new UsageError('give a study id (0x… or the protocol’s own id)');
  return keccak256(toHex(text));
}

/** A member node's URL and operator token: its folder under the data dir, or --url and --token-file. */
export function operatorTarget(
  dataDir: string,
  o: { node: string; url?: string; tokenFile?: string },
): { url: string; token: string } {
  const dir = nodeDir(dataDir, o.node);
  if ((o.url === undefined || o.tokenFile === undefined) && !existsSync(dir))
    throw new UsageError(`no node "${o.node}" under ${dataDir}: pass --url and --token-file`);
  const url = (o.url ?? loadNodeConfig(dir).publicUrl).replace(/\/+$/, '');
  const token = readFileSync(o.tokenFile ?? nodePaths(dir).adminToken, 'utf8').trim();
  return { url, token };
}

export function describeStudyText(study: StudyView): string {
  const votes = `${study.approvals.by.length}${study.approvals.needed === null ? '' : `/${study.approvals.needed}`}`;
  return [
    `${study.id}  ${study.status}`,
    ...(study.protocol ? [`  ${study.protocol.title}`] : []),
    `  researcher ${study.researcher}, k ${study.k}, approvals ${votes}`,
    `  ${study.period.notBefore} to ${study.period.notAfter}${study.period.inPeriod ? ' (in period)' : ''}`,
    `  categories ${study.categories.join(', ')}; types ${study.resourceTypes.join(', ')}`,
    `  join: grant HRESCH to ${study.join.grantee}`,
    ...study.releases.map(
      (r) => `  release ${r.manifestHash}: ${r.records} records, ${r.contributors} contributors`,
    ),
  ].join('\n');
}

/** Member names (as in `GET /ledger/members`, e.g. "hospital") or addresses, as addresses. */
export async function resolveMembers(url: string, names: readonly string[]): Promise<Address[]> {
  if (names.every((n) => isAddress(n, { strict: false }))) return names.map((n) => getAddress(n));
  const { members } = await requestJson<{ members: { address: Address; name: string }[] }>(
    `${url}/ledger/members`,
  );
  return names.map((name) => {
    if (isAddress(name, { strict: false })) return getAddress(name);
    const found = members.filter((m) => m.name.toLowerCase().includes(name.toLowerCase()));
    if (found.length !== 1)
      throw new UsageError(
        `--board ${name}: ${found.length === 0 ? 'no' : 'more than one'} member by that name`,
      );
    return (found[0] as { address: Address }).address;
  });
}

export function parseDate(text: string, option: string): string {
  const time = Date.parse(text);
  if (Number.isNaN(time)) throw new UsageError(`${option} must be a date (YYYY-MM-DD or ISO 8601)`);
  return new Date(time).toISOString();
}

/** The context each part of the group registers with: the data dir, the group, and printing. */
export interface ResearchCli {
  readonly program: Command;
  readonly research: Command;
  dataDir(): string;
  print(json: boolean | undefined, value: unknown, text: string): void;
}

export function createResearchCli(program: Command, out: CommandOutput): ResearchCli {
  const research =
    program.commands.find((c) => c.name() === 'research') ??
    program
      .command('research')
      .description('research studies: proposal, approval, patients joining, feasibility, releases');
  return {
    program,
    research,
    dataDir: () => resolveDataDir(program.opts<{ dataDir?: string }>().dataDir),
    print: (json, value, text) => {
      out.write(json === true ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
    },
  };
}

/** --node, --url, --token-file and --json of the operator's ledger writes. */
export function withOperatorOptions(command: Command, defaultNode: string): Command {
  return command
    .option('--node <name>', 'the member node acting (its folder under the data dir)', defaultNode)
    .option('--url <url>', "the node's base URL (default: from its node.json)")
    .option('--token-file <file>', "the node operator's token (default: the node folder's admin.token)")
    .option('--json', 'print the study as JSON');
}
