/**
 * `careledger research join|leave` and `careledger patient credits` (issue 18 items 2 and 5): the
 * patient signs an EIP-712 HRESCH grant to the study's address (or revokes it) on this machine with
 * their own key, and their node relays it; credits are read from the patient's node.
 */
import type { Command } from 'commander';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { patientKey, readConsentNonce, tokenOf } from '../../cli/commands/records-exchange.js';
import { deploymentFile, resolveNodeUrl } from '../../cli/data-dir.js';
import { requestJson } from '../../cli/http-json.js';
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
import { GENERAL_RESEARCH_ADDRESS, studyGrantee } from '../study.js';
import { parseStudyId, type ResearchCli, type StudyView } from './research-cli.js';

export function registerPatientCommands(cli: ResearchCli): void {
  const { program, research, dataDir, print } = cli;
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
