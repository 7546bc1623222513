/**
 * `careledger research list|show|propose|vote|open|close|join|leave|feasibility` and
 * `careledger patient credits` (issue 18, decision 0024). Operator commands go to a member node with
 * that node's operator token (from its folder under the data dir, or --url and --token-file); join and
 * leave sign the patient's EIP-712 consent on this machine and have their node relay it; feasibility
 * asks every active member as the research member (a SMART Backend Services token per member, signed
 * with its ledger key), or one node with its operator token.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  type Address,
  bytesToHex,
  getAddress,
  type Hex,
  hexToBytes,
  isAddress,
  keccak256,
  toHex,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { patientKey, readConsentNonce, tokenOf } from '../../cli/commands/records-exchange.js';
import { deploymentFile, nodeDir, resolveDataDir, resolveNodeUrl } from '../../cli/data-dir.js';
import { UsageError } from '../../cli/exit-codes.js';
import { requestJson } from '../../cli/http-json.js';
import { CareLedgerError } from '../../errors/index.js';
import { MemberClient } from '../../exchange/index.js';
import {
  computeGrantId,
  createConsentDomain,
  createGrantSalt,
  createGrantTypedData,
  createRevokeTypedData,
  encodeCategories,
  encodePurposes,
  loadDeployment,
} from '../../ledger/index.js';
import { loadNodeConfig, nodePaths } from '../../node/node-config.js';
import { loadOrCreateLedgerKey } from '../../node/node-keys.js';
import { hashDeidProfile } from '../release/release-manifest.js';
import { SAFE_HARBOR_PROFILE_JSON } from '../safe-harbor-profile.js';
import { GENERAL_RESEARCH_ADDRESS, studyGrantee } from '../study.js';

export interface CommandOutput {
  write(text: string): unknown;
}

interface StudyView {
  id: Hex;
  status: string;
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
function operatorTarget(
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

function describe(study: StudyView): string {
  const votes = `${study.approvals.by.length}${study.approvals.needed === null ? '' : `/${study.approvals.needed}`}`;
  return [
    `${study.id}  ${study.status}`,
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
async function resolveMembers(url: string, names: readonly string[]): Promise<Address[]> {
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

function parseDate(text: string, option: string): string {
  const time = Date.parse(text);
  if (Number.isNaN(time)) throw new UsageError(`${option} must be a date (YYYY-MM-DD or ISO 8601)`);
  return new Date(time).toISOString();
}

function sha256File(path: string): Hex {
  return `0x${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
}

export function registerResearchCommands(program: Command, out: CommandOutput = process.stdout): void {
  const dataDir = () => resolveDataDir(program.opts<{ dataDir?: string }>().dataDir);
  const research =
    program.commands.find((c) => c.name() === 'research') ??
    program
      .command('research')
      .description('research studies: proposal, approval, patients joining, feasibility');
  const print = (json: boolean | undefined, value: unknown, text: string) =>
    out.write(json === true ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
  const operatorOptions = (command: Command, defaultNode: string) =>
    command
      .option('--node <name>', 'the member node acting (its folder under the data dir)', defaultNode)
      .option('--url <url>', "the node's base URL (default: from its node.json)")
      .option('--token-file <file>', "the node operator's token (default: the node folder's admin.token)")
      .option('--json', 'print the study as JSON');

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
      .requiredOption('--protocol <file>', 'the protocol document (only its SHA-256 goes on chain)')
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
  $ careledger research propose --id diabetes-2026 --protocol protocol.pdf \\
      --categories demographics,laboratory --types Patient,Observation --k 5`,
    )
    .action(
      async (o: {
        id: string;
        protocol: string;
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
            protocolHash: sha256File(o.protocol),
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

  const keyOptions = (command: Command) =>
    command
      .argument('<study>', 'the study id, or "general" for research in general')
      .option('--keystore <file>', "the patient's keystore (Web3 Secret Storage JSON)")
      .option('--passphrase-file <file>', 'its passphrase (default $CARELEDGER_KEYSTORE_PASSPHRASE)')
      .option(
        '--demo',
        "the demo patient's keystore, kept at the node, and her passphrase from demo-users.json",
      )
      .option('--node <url>', "the patient's node, which relays (default: the demo's hospital)")
      .option('--token <token>', "the patient's access token, with --demo (default $CARELEDGER_TOKEN)")
      .option('--json', 'print the result as JSON');
  type KeyOptions = {
    keystore?: string;
    passphraseFile?: string;
    demo?: boolean;
    node?: string;
    token?: string;
    json?: boolean;
  };
  const signer = async (o: KeyOptions) => {
    const dir = dataDir();
    const node = resolveNodeUrl(dir, o.node);
    const key = await patientKey({ ...o, node, token: o.demo === true ? tokenOf(o.token) : '' }, dir);
    const account = privateKeyToAccount(key);
    const deployment = loadDeployment(deploymentFile(dir));
    const domain = createConsentDomain(deployment.chainId, deployment.contracts.consentRegistry);
    return { dir, node, account, domain };
  };

  keyOptions(
    research
      .command('join')
      .description(
        "join a study (or research in general): sign an HRESCH grant to the study's address, relayed by your node",
      )
      .option(
        '--categories <list>',
        'for "general": the categories to share',
        'demographics,conditions,laboratory,vital-signs',
      )
      .option('--days <n>', 'how long it holds (default: to the end of the study, or 365 days)'),
  ).action(async (id: string, o: KeyOptions & { categories: string; days?: string }) => {
    const { dir, node, account, domain } = await signer(o);
    const general = id === 'general';
    const study = general
      ? undefined
      : await requestJson<StudyView>(`${node}/research/studies/${parseStudyId(id)}`);
    const now = BigInt(Math.floor(Date.now() / 1000));
    const until =
      o.days !== undefined
        ? now + BigInt(Math.round(Number(o.days) * 86_400))
        : study !== undefined
          ? BigInt(Math.floor(Date.parse(study.period.notAfter) / 1000))
          : now + 365n * 86_400n;
    const grant = {
      patient: account.address,
      grantee: general ? GENERAL_RESEARCH_ADDRESS : studyGrantee(parseStudyId(id)),
      categories: encodeCategories(study?.categories ?? o.categories.split(',').map((s) => s.trim())),
      purposes: encodePurposes(['HRESCH']),
      salt: createGrantSalt(),
      notBefore: now - 60n,
      notAfter: until,
      nonce: await readConsentNonce(dir, account.address),
    };
    const signature = await account.signTypedData(createGrantTypedData(domain, grant));
    const relayed = await requestJson<Record<string, unknown>>(`${node}/ledger/consent/grants?wait=true`, {
      body: {
        grant: Object.fromEntries(
          Object.entries(grant).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]),
        ),
        signature,
      },
      timeoutMs: 60_000,
    });
    const grantId = computeGrantId(domain, grant);
    print(
      o.json,
      { grantId, grantee: grant.grantee, ...relayed },
      `joined ${general ? 'research in general' : id}\ngrant ${grantId}`,
    );
  });

  keyOptions(
    research
      .command('leave')
      .description(
        'leave a study (or research in general): revoke every grant to it; later releases leave you out',
      ),
  ).action(async (id: string, o: KeyOptions) => {
    const { dir, node, account, domain } = await signer(o);
    const grantee = id === 'general' ? GENERAL_RESEARCH_ADDRESS : studyGrantee(parseStudyId(id));
    const { grants } = await requestJson<{ grants: { grantId: Hex; revokedAt: number | null }[] }>(
      `${node}/ledger/consent/grants?patient=${account.address}&grantee=${grantee}`,
    );
    const revoked: Hex[] = [];
    for (const g of grants.filter((g) => g.revokedAt === null)) {
      const revoke = {
        patient: account.address,
        grantId: g.grantId,
        nonce: await readConsentNonce(dir, account.address),
      };
      const signature = await account.signTypedData(createRevokeTypedData(domain, revoke));
      await requestJson(`${node}/ledger/consent/revocations?wait=true`, {
        body: { revoke: { ...revoke, nonce: revoke.nonce.toString() }, signature },
        timeoutMs: 60_000,
      });
      revoked.push(g.grantId);
    }
    print(
      o.json,
      { revoked },
      revoked.length === 0 ? 'no grant in force to leave' : `left: revoked ${revoked.join(', ')}`,
    );
  });

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

  const patient = program.commands.find((c) => c.name() === 'patient') ?? program.command('patient');
  patient
    .command('credits')
    .description('your research contribution credits, per study (non-transferable; decision 0024)')
    .option('--node <url>', "your node (default: the demo's hospital)")
    .option('--token <token>', 'your access token as the patient (default $CARELEDGER_TOKEN)')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      `
Example:
  $ TOKEN=$(careledger demo token --user maria.rivera --scope 'launch/patient patient/*.rs')
  $ careledger patient credits --token "$TOKEN"`,
    )
    .action(async (o: { node?: string; token?: string; json?: boolean }) => {
      const node = resolveNodeUrl(dataDir(), o.node);
      const result = await requestJson<{
        total: string;
        studies: { studyId: Hex; status: string; credits: string; creditAddress: Address }[];
      }>(`${node}/research/credits`, { token: tokenOf(o.token) });
      print(
        o.json,
        result,
        [
          `${result.total} credit(s)`,
          ...result.studies.map((s) => `  ${s.studyId} (${s.status}): ${s.credits} at ${s.creditAddress}`),
        ].join('\n'),
      );
    });
}
