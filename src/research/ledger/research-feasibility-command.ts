/**
 * `careledger research feasibility` (issue 18 item 7): counts by simple criteria at every active
 * member, asked as the research member (a SMART Backend Services token per member, signed with its
 * ledger key); each member suppresses its small cells (suppress-small-cells.ts).
 */
import { existsSync } from 'node:fs';
import { type Address, bytesToHex, hexToBytes } from 'viem';
import { nodeDir } from '../../cli/data-dir.js';
import { UsageError } from '../../cli/exit-codes.js';
import { requestJson } from '../../cli/http-json.js';
import { CareLedgerError } from '../../errors/index.js';
import { MemberClient } from '../../exchange/index.js';
import { loadNodeConfig, nodePaths } from '../../node/node-config.js';
import { loadOrCreateLedgerKey } from '../../node/node-keys.js';
import { parseStudyId, type ResearchCli } from './research-cli.js';

export function registerFeasibilityCommand(cli: ResearchCli): void {
  const { research, dataDir, print } = cli;
  research
    .command('feasibility')
    .description('counts of consenting patients by simple criteria at every member; cells below k suppressed')
    .option('--as <name>', 'the research member asking (its folder under the data dir)', 'research')
    .option('--study <id>', 'also count the patients who joined this study')
    .option('--type <resourceType>', 'patients with a resource of this type (e.g. Condition)')
    .option('--code <system|code>', 'and this code (e.g. http://snomed.info/sct|44054006)')
    .option('--sex <sex>', 'female, male, other or unknown')
    .option('--age-band <band>', 'e.g. 50-59, or 90+')
    .option('--group-by <list>', 'sex and/or ageBand, comma-separated')
    .option('--k <n>', 'suppress cells below k (at least 5, or the study’s k)')
    .option('--json', 'print every member’s answer as JSON')
    .action(
      async (o: {
        as: string;
        study?: string;
        type?: string;
        code?: string;
        sex?: string;
        ageBand?: string;
        groupBy?: string;
        k?: string;
        json?: boolean;
      }) => {
        const dir = nodeDir(dataDir(), o.as);
        if (!existsSync(nodePaths(dir).ledgerKey))
          throw new UsageError(`no member "${o.as}" with a ledger key under ${dataDir()}`);
        const account = loadOrCreateLedgerKey(nodePaths(dir).ledgerKey);
        const home = loadNodeConfig(dir).publicUrl.replace(/\/+$/, '');
        const body = {
          ...(o.study === undefined ? {} : { studyId: parseStudyId(o.study) }),
          ...(o.type === undefined ? {} : { resourceType: o.type }),
          ...(o.code === undefined ? {} : { code: o.code }),
          ...(o.sex === undefined ? {} : { sex: o.sex }),
          ...(o.ageBand === undefined ? {} : { ageBand: o.ageBand }),
          ...(o.groupBy === undefined ? {} : { groupBy: o.groupBy.split(',').map((s) => s.trim()) }),
          ...(o.k === undefined ? {} : { k: Number(o.k) }),
        };
        const { members } = await requestJson<{
          members: { address: Address; name: string; status: string; fhirBaseUrl: string }[];
        }>(`${home}/ledger/members`);
        const self = {
          address: account.address,
          sign: async (hash: Uint8Array) => hexToBytes(await account.sign({ hash: bytesToHex(hash) })),
        };
        const answers: { member: string; total: number | null; cells?: unknown[]; error?: string }[] = [];
        for (const member of members.filter((m) => m.status === 'active' && m.fhirBaseUrl !== '')) {
          const client = new MemberClient({ member });
          try {
            const token = await client.memberToken(self, { purpose: 'HRESCH' });
            const answer = await requestJson<{ total: number | null; cells: unknown[] }>(
              `${client.base}/research/feasibility`,
              {
                body,
                token,
              },
            );
            answers.push({ member: member.name, ...answer });
          } catch (error) {
            answers.push({ member: member.name, total: null, error: (error as Error).message });
          }
        }
        const released = answers.reduce((sum, a) => sum + (a.total ?? 0), 0);
        print(
          o.json,
          { members: answers, releasedTotal: released },
          [
            ...answers.map(
              (a) => `${a.member}: ${a.error ?? (a.total === null ? `fewer than k` : String(a.total))}`,
            ),
            `total of the counts released: ${released}`,
          ].join('\n'),
        );
        if (answers.every((a) => a.error !== undefined))
          throw new CareLedgerError('ERR_UPSTREAM', 'no member answered the feasibility question');
      },
    );
}
