import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent, Resource } from '@medplum/fhirtypes';
import type { Command } from 'commander';
import { type Address, getAddress, type Hex, hexToBytes, isAddress } from 'viem';
import { createChainClient } from '../../chain/index.js';
import { CareLedgerError } from '../../errors/index.js';
import {
  MemberClient,
  MemberLogVerifier,
  type PatientView,
  type ProofStatus,
  type PullReport,
} from '../../exchange/index.js';
import { openPatientKeystore } from '../../identity/index.js';
import { createPatientAssertion } from '../../identity/patient-assertion.js';
import {
  checkpointAnchorAbi,
  computeGrantId,
  consentRegistryAbi,
  createConsentDomain,
  createGrantSalt,
  createGrantTypedData,
  createRevokeTypedData,
  encodeCategories,
  encodePurposes,
  loadDeployment,
} from '../../ledger/index.js';
import { deploymentFile, resolveDataDir, resolveNodeUrl, resolveRpcUrl } from '../data-dir.js';
import { UsageError } from '../exit-codes.js';
import { requestJson } from '../http-json.js';
import { accessEntryBase } from './access-entry-file.js';
import { consentSigner, parseWardOption, registerDelegateKeyCommand } from './consent-delegate-key.js';
import { loadDemoUsers } from './demo-users.js';
import { readLedgerMembers } from './proof-policy.js';

interface Io {
  readonly stdout?: { write(text: string): unknown };
}

export function tokenOf(option: string | undefined): string {
  const token = option ?? process.env.CARELEDGER_TOKEN;
  if (token === undefined || token === '') {
    throw new UsageError(
      'add --token <token> (or set $CARELEDGER_TOKEN): e.g. --token "$(careledger demo token --user dr.grey)"',
    );
  }
  return token;
}

/**
 * The patient's ledger key: from a keystore file and a passphrase, or for the demo patient, the
 * keystore the node keeps for her and the passphrase in demo-users.json. Opened here, on the patient's
 * side; the node never sees the key.
 */
export async function patientKey(
  options: { keystore?: string; passphraseFile?: string; demo?: boolean; node: string; token: string },
  dataDir: string,
): Promise<Hex> {
  if (options.keystore !== undefined) {
    const passphrase =
      options.passphraseFile !== undefined
        ? readFileSync(options.passphraseFile, 'utf8').replace(/\r?\n$/, '')
        : process.env.CARELEDGER_KEYSTORE_PASSPHRASE;
    if (passphrase === undefined)
      throw new UsageError('add --passphrase-file <file> (or set $CARELEDGER_KEYSTORE_PASSPHRASE)');
    return openPatientKeystore(JSON.parse(readFileSync(options.keystore, 'utf8')), passphrase);
  }
  if (options.demo !== true)
    throw new UsageError('add --keystore <file> (with its passphrase), or --demo for the demo patient');
  const users = loadDemoUsers(dataDir);
  const keystore = await requestJson<unknown>(`${options.node}/patient/keystore`, { token: options.token });
  return openPatientKeystore(keystore, users.patientKeystorePassphrase);
}

async function resolveMember(
  dataDir: string,
  node: string,
  name: string,
): Promise<{ address: Address; name: string }> {
  const { members } = await requestJson<{ members: { address: Address; name: string; status: string }[] }>(
    `${node}/ledger/members`,
  );
  const found = isAddress(name, { strict: false })
    ? members.find((m) => m.address.toLowerCase() === name.toLowerCase())
    : members.find((m) => m.name.toLowerCase().includes(name.toLowerCase()));
  if (found === undefined) {
    throw new CareLedgerError(
      'ERR_NOT_FOUND',
      `no member ${name} (have: ${members.map((m) => m.name).join(', ')}; data dir ${dataDir})`,
    );
  }
  return found;
}

/** Verifies a served resource against its member's log, with the member's keys and anchor from the chain. */
async function verifyServedRecord(
  dataDir: string,
  file: string,
  from: string,
  rpcUrl?: string,
): Promise<ProofStatus> {
  const { deployment, client, members } = await readLedgerMembers(dataDir, rpcUrl);
  const wanted = from.replace(/\/+$/, '').toLowerCase();
  const member = members.find(
    (m) =>
      m.address.toLowerCase() === wanted ||
      m.fhirBaseUrl.replace(/\/fhir\/?$/, '').toLowerCase() === wanted ||
      m.name.toLowerCase().includes(wanted),
  );
  if (member === undefined)
    throw new CareLedgerError('ERR_NOT_FOUND', `no member of the consortium matches ${from}`);
  let resource: Resource;
  try {
    resource = JSON.parse(readFileSync(file, 'utf8')) as Resource;
  } catch (cause) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `${file} is not a readable JSON resource`, { cause });
  }
  const memberClient = new MemberClient({
    member: { address: member.address, name: member.name, fhirBaseUrl: member.fhirBaseUrl },
  });
  const verifier = new MemberLogVerifier({
    member: {
      address: member.address,
      name: member.name,
      logOrigin: member.logOrigin,
      logVerifierKey: member.logVerifierKey,
    },
    latestAnchor: async () => {
      const [treeSize, rootHash] = await client.readContract({
        address: deployment.contracts.checkpointAnchor,
        abi: checkpointAnchorAbi,
        functionName: 'latest',
        args: [member.logOrigin],
      });
      return treeSize === 0n ? undefined : { treeSize: Number(treeSize), rootHash };
    },
    fetchLog: (path) => memberClient.readLog(path),
  });
  return resource.resourceType === 'AuditEvent'
    ? verifier.verifyAuditEvent(resource as AuditEvent)
    : verifier.verifyVersion(resource);
}

/** The patient's next consent nonce on ConsentRegistry (grants and revocations share one sequence). */
export async function readConsentNonce(dataDir: string, patient: Address): Promise<bigint> {
  const deployment = loadDeployment(deploymentFile(dataDir));
  const client = createChainClient(resolveRpcUrl(dataDir), deployment.chainId, { timeoutMs: 30_000 });
  return client.readContract({
    address: deployment.contracts.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'nonces',
    args: [patient],
  });
}

function formatPull(report: PullReport): string {
  const lines = [`records of ${report.patient} at the other members:`];
  if (report.members.length === 0)
    lines.push('  no other member has announced records of this patient on the ledger');
  for (const m of report.members) {
    lines.push(
      `  ${m.name}: ${m.status}${m.error === undefined ? '' : ` (${m.error})`}; received ${m.received}, kept ${m.kept}, already held ${m.unchanged}, refused ${m.refused.length}`,
    );
    for (const r of m.refused) lines.push(`    refused ${r.reference}: ${r.reason} (${r.message})`);
    if (m.provenance !== undefined) lines.push(`    provenance ${m.provenance}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A pull that got nothing from anyone fails: 77 when every member refused, else 69. */
function verifySomeMemberAnswered(report: PullReport): void {
  if (report.members.length === 0 || report.members.some((m) => m.status === 'ok')) return;
  if (report.members.every((m) => m.status === 'refused'))
    throw new CareLedgerError(
      'ERR_CONSENT_DENIED',
      `every member refused (${report.members.length}); the patient's consent is needed`,
    );
  throw new CareLedgerError('ERR_UPSTREAM', 'no member sent records; some could not be reached');
}

function describe(resource: Resource): string {
  const r = resource as Resource & {
    code?: { text?: string; coding?: { display?: string }[] };
    medicationCodeableConcept?: { text?: string; coding?: { display?: string }[] };
    vaccineCode?: { text?: string; coding?: { display?: string }[] };
    valueQuantity?: { value?: number; unit?: string };
  };
  const concept = r.code ?? r.medicationCodeableConcept ?? r.vaccineCode;
  const label = concept?.text ?? concept?.coding?.[0]?.display ?? '';
  const value =
    r.valueQuantity === undefined ? '' : ` = ${r.valueQuantity.value} ${r.valueQuantity.unit ?? ''}`;
  return `${resource.resourceType}${label === '' ? '' : ` ${label}`}${value}`;
}

function formatView(view: PatientView, save: string | undefined): string {
  const lines: string[] = [];
  for (const m of view.members)
    lines.push(`${m.name}: ${m.status}${m.error === undefined ? '' : ` (${m.error})`}`);
  const verified = (s: { status: string }) => s.status === 'verified';
  lines.push(
    '',
    `records: ${view.records.length} (${view.records.filter((r) => verified(r.verification)).length} verified)`,
  );
  const byMember = new Map<string, number>();
  for (const r of view.records) byMember.set(r.memberName, (byMember.get(r.memberName) ?? 0) + 1);
  for (const [name, count] of byMember) lines.push(`  ${name}: ${count}`);
  for (const r of view.records.filter((x) => !verified(x.verification)).slice(0, 10)) {
    const v = r.verification as { reason?: string; message?: string };
    lines.push(`  NOT VERIFIED ${r.memberName} ${describe(r.resource)}: ${v.reason} (${v.message})`);
  }
  const line = (a: PatientView['accessHistory'][number]): string => {
    const e = a.auditEvent;
    const who =
      e.agent
        ?.map((g) => g.who?.reference)
        .filter(Boolean)
        .join(' for ') ?? '?';
    const purpose = e.purposeOfEvent?.[0]?.coding?.[0]?.code ?? '';
    const outcome = e.outcome === '0' ? 'permitted' : e.outcome === '4' ? 'REFUSED' : 'failed';
    const action = e.subtype?.[0]?.code ?? e.action ?? '';
    const proof =
      a.verification.status === 'verified'
        ? `proof verified${save === undefined || a.tlogProof === undefined ? '' : ` (${savedBase(save, a)}.tlog-proof)`}`
        : a.verification.reason === 'not-yet-checkpointed'
          ? 'proof pending: newer than the latest checkpoint'
          : `proof FAILED: ${a.verification.reason}`;
    return `  ${e.recorded} ${a.memberName}: ${outcome} ${action} by ${who} (${purpose}); ${proof}`;
  };
  const NEWEST = 25;
  lines.push('', `access history: ${view.accessHistory.length} entries, newest first`);
  for (const a of view.accessHistory.slice(0, NEWEST)) lines.push(line(a));
  if (view.accessHistory.length > NEWEST) {
    lines.push(
      `  … ${view.accessHistory.length - NEWEST} more${save === undefined ? '' : ` (all in ${save})`}`,
    );
  }
  // Refusals and failures matter most to a patient: every one of them, however old.
  const older = view.accessHistory.slice(NEWEST).filter((a) => a.auditEvent.outcome !== '0');
  if (older.length > 0) {
    lines.push('', `older refusals and failures: ${older.length}`);
    for (const a of older) lines.push(line(a));
  }
  return `${lines.join('\n')}\n`;
}

/** Saves each access entry as <member>-<index>.json and .tlog-proof, for `careledger proof verify`. */
/** Where `--save` keeps an access entry: <dir>/<member's first word>-<log index>(.json|.tlog-proof). */
function savedBase(dir: string, a: PatientView['accessHistory'][number]): string {
  const index = a.verification.status === 'verified' ? a.verification.index : 'unverified';
  return accessEntryBase(dir, { name: a.memberName, address: a.member }, index);
}

export function saveView(view: PatientView, dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const a of view.accessHistory) {
    if (a.tlogProof === undefined || a.verification.status !== 'verified') continue;
    const base = savedBase(dir, a);
    writeFileSync(`${base}.json`, `${JSON.stringify(a.auditEvent, null, 2)}\n`);
    writeFileSync(`${base}.tlog-proof`, a.tlogProof);
  }
  writeFileSync(join(dir, 'view.json'), `${JSON.stringify(view, null, 2)}\n`);
}

const wardHelp =
  'sign for a ward (a minor, or a patient who appointed you) with your delegate key for them (see delegate-key): your own address never reaches the ledger';

export function registerExchangeCommands(program: Command, io: Io = {}): void {
  const out = () => io.stdout ?? process.stdout;
  const dataDir = () => resolveDataDir(program.opts<{ dataDir?: string }>().dataDir);

  const records = program.command('records').description("records between members: a clinician's pull");
  records
    .command('pull')
    .description(
      "fetch a patient's records from the other members holding some (ledger record locator), verified against their anchored logs",
    )
    .argument('<patient-id>', 'the Patient id at your node')
    .option('--node <url>', "your member node (default: the demo's hospital)")
    .option('--token <token>', 'a clinician access token (default $CARELEDGER_TOKEN)')
    .option('--purpose <code>', 'HL7 v3 PurposeOfUse', 'TREAT')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Exit status: 0 when some member sent records (or none holds any), 77 when every member refused,
69 when none sent records and some could not be reached.

Example:
  $ TOKEN=$(careledger demo token --user dr.grey)
  $ careledger records pull 1c0e… --token "$TOKEN"`,
    )
    .action(
      async (
        patientId: string,
        options: { node?: string; token?: string; purpose: string; json?: boolean },
      ) => {
        const node = resolveNodeUrl(dataDir(), options.node);
        const report = await requestJson<PullReport>(
          `${node}/fhir/Patient/${encodeURIComponent(patientId)}/$fetch-from-members?purpose=${encodeURIComponent(options.purpose)}`,
          { method: 'POST', token: tokenOf(options.token), timeoutMs: 120_000 },
        );
        out().write(options.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatPull(report));
        verifySomeMemberAnswered(report);
      },
    );

  records
    .command('verify')
    .description(
      "check a record or AuditEvent as a member served it against that member's log, trusting only the chain",
    )
    .argument('<file.json>', 'the served resource (with its version-proof or log-entry extension)')
    .requiredOption('--from <member>', 'the member that served it: a name (lab), an address, or its node URL')
    .option('--rpc-url <url>', 'chain RPC URL (default: $CARELEDGER_CHAIN_RPC_URL or the demo chain)')
    .option('--json', 'print the status as JSON')
    .addHelpText(
      'after',
      `
The member's log key and origin come from ConsortiumRegistry and its latest anchor from CheckpointAnchor,
read from the chain; only the proofs are fetched from the member (/log/proof, /log/consistency).
Exit status: 0 verified, 65 not verified (the reason is printed: version-mismatch, commitment-mismatch,
origin-mismatch, bad-signature, inclusion, stale-checkpoint, anchor-mismatch, inconsistent-with-anchor,
not-yet-checkpointed, …).

Example:
  $ curl -s -H 'X-CareLedger-Version-Proof: 1' -H "Authorization: Bearer $TOKEN" \\
      http://127.0.0.1:8702/fhir/Observation/… > obs.json
  $ careledger records verify obs.json --from lab`,
    )
    .action(async (file: string, options: { from: string; rpcUrl?: string; json?: boolean }) => {
      const dir = dataDir();
      const status = await verifyServedRecord(dir, file, options.from, options.rpcUrl);
      out().write(
        options.json === true
          ? `${JSON.stringify(status, null, 2)}\n`
          : status.status === 'verified'
            ? `OK: entry ${status.index} of ${status.checkpoint.origin} at size ${status.checkpoint.size}, consistent with the anchor at size ${status.anchoredSize}\n`
            : '',
      );
      if (status.status === 'failed') {
        throw new CareLedgerError(
          'ERR_LOG_PROOF_INVALID',
          `NOT VERIFIED: ${status.reason} (${status.message})`,
          {
            details: { reason: status.reason },
          },
        );
      }
    });

  const patient = program.commands.find((c) => c.name() === 'patient') ?? program.command('patient');
  const consent = patient
    .command('consent')
    .description("the patient's consent on the ledger, signed with their key");
  const keyOptions = (command: Command) =>
    command
      .option('--keystore <file>', "the patient's keystore (Web3 Secret Storage JSON)")
      .option('--passphrase-file <file>', 'its passphrase (default $CARELEDGER_KEYSTORE_PASSPHRASE)')
      .option(
        '--demo',
        "the demo patient's keystore, kept at the node, and her passphrase from demo-users.json",
      )
      .option(
        '--node <url>',
        "the member node that relays (and, with --demo, keeps the keystore); default: the demo's hospital",
      )
      .option('--token <token>', "the patient's access token, with --demo (default $CARELEDGER_TOKEN)");

  keyOptions(
    consent
      .command('grant')
      .description('sign a grant (EIP-712) and have the node relay it to the ledger')
      .requiredOption('--to <member>', 'the grantee: a member name (hospital, lab, pharmacy) or its address')
      .option(
        '--categories <list>',
        'data categories, comma-separated',
        'demographics,laboratory,medications',
      )
      .option('--purposes <list>', 'purposes of use, comma-separated', 'TREAT')
      .option('--days <n>', 'how long it holds', '30')
      .option('--for <ward>', wardHelp)
      .option('--json', 'print { grantId, transaction } as JSON'),
  ).action(
    async (options: {
      for?: string;
      to: string;
      categories: string;
      purposes: string;
      days: string;
      keystore?: string;
      passphraseFile?: string;
      demo?: boolean;
      node?: string;
      token?: string;
      json?: boolean;
    }) => {
      const dir = dataDir();
      const node = resolveNodeUrl(dir, options.node);
      const key = await patientKey(
        { ...options, node, token: options.demo === true ? tokenOf(options.token) : '' },
        dir,
      );
      const { account, patient } = consentSigner(
        key,
        options.for === undefined ? undefined : parseWardOption(options.for),
      );
      const grantee = await resolveMember(dir, node, options.to);
      const deployment = loadDeployment(deploymentFile(dir));
      const domain = createConsentDomain(deployment.chainId, deployment.contracts.consentRegistry);
      const nonce = await readConsentNonce(dir, patient);
      const now = BigInt(Math.floor(Date.now() / 1000));
      const grant = {
        patient,
        grantee: grantee.address,
        categories: encodeCategories(options.categories.split(',').map((s) => s.trim())),
        purposes: encodePurposes(options.purposes.split(',').map((s) => s.trim())),
        salt: createGrantSalt(),
        notBefore: now - 60n,
        notAfter: now + BigInt(Math.round(Number(options.days) * 86_400)),
        nonce,
      };
      const signature = await account.signTypedData(createGrantTypedData(domain, grant));
      const body = {
        grant: Object.fromEntries(
          Object.entries(grant).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]),
        ),
        signature,
      };
      const relayed = await requestJson<Record<string, unknown>>(`${node}/ledger/consent/grants?wait=true`, {
        body,
        timeoutMs: 60_000,
      });
      const grantId = computeGrantId(domain, grant);
      out().write(
        options.json === true
          ? `${JSON.stringify({ grantId, ...relayed }, null, 2)}\n`
          : `granted ${grantee.name} ${options.categories} for ${options.purposes}, ${options.days} days\ngrant ${grantId}\n`,
      );
    },
  );

  keyOptions(
    consent
      .command('revoke')
      .description('sign the revocation of a grant and have the node relay it')
      .argument('<grant-id>', 'the grant id (0x…)')
      .option('--for <ward>', wardHelp),
  ).action(
    async (
      grantId: string,
      options: {
        for?: string;
        keystore?: string;
        passphraseFile?: string;
        demo?: boolean;
        node?: string;
        token?: string;
      },
    ) => {
      const dir = dataDir();
      const node = resolveNodeUrl(dir, options.node);
      const key = await patientKey(
        { ...options, node, token: options.demo === true ? tokenOf(options.token) : '' },
        dir,
      );
      const { account, patient } = consentSigner(
        key,
        options.for === undefined ? undefined : parseWardOption(options.for),
      );
      const deployment = loadDeployment(deploymentFile(dir));
      const domain = createConsentDomain(deployment.chainId, deployment.contracts.consentRegistry);
      const nonce = await readConsentNonce(dir, patient);
      const revoke = { patient, grantId: grantId as Hex, nonce };
      const signature = await account.signTypedData(createRevokeTypedData(domain, revoke));
      await requestJson(`${node}/ledger/consent/revocations?wait=true`, {
        body: { revoke: { ...revoke, nonce: nonce.toString() }, signature },
        timeoutMs: 60_000,
      });
      out().write(`revoked ${grantId}\n`);
    },
  );

  registerDelegateKeyCommand(
    consent,
    keyOptions,
    async (options) => {
      const dir = dataDir();
      const node = resolveNodeUrl(dir, options.node as string | undefined);
      const demo = options.demo === true;
      const key = await patientKey(
        { ...options, node, token: demo ? tokenOf(options.token as string | undefined) : '' },
        dir,
      );
      const deployment = loadDeployment(deploymentFile(dir));
      return { key, domain: createConsentDomain(deployment.chainId, deployment.contracts.consentRegistry) };
    },
    out,
  );

  keyOptions(
    patient
      .command('view')
      .description(
        'your records and access history from every member, each checked against its anchored log (signed with your key, here)',
      )
      .option(
        '--save <dir>',
        'keep each access entry and its .tlog-proof there, for `careledger proof verify`',
      )
      .option('--json', 'print the whole view as JSON'),
  ).action(
    async (options: {
      keystore?: string;
      passphraseFile?: string;
      demo?: boolean;
      node?: string;
      token?: string;
      save?: string;
      json?: boolean;
    }) => {
      const token = tokenOf(options.token);
      const node = resolveNodeUrl(dataDir(), options.node);
      const key = await patientKey({ ...options, node, token }, dataDir());
      const audiences = await requestJson<{ members: { address: string; audience: string }[] }>(
        `${node}/patient/everywhere`,
        { token },
      );
      const nowSeconds = Math.floor(Date.now() / 1000);
      const assertions = await Promise.all(
        audiences.members.map(async (m) => ({
          member: getAddress(m.address),
          assertion: await createPatientAssertion(hexToBytes(key), {
            audience: m.audience,
            nowSeconds,
            jti: randomUUID(),
          }),
        })),
      );
      const view = await requestJson<PatientView>(`${node}/patient/everywhere`, {
        body: { assertions },
        token,
        timeoutMs: 120_000,
      });
      if (options.save !== undefined) saveView(view, options.save);
      out().write(
        options.json === true ? `${JSON.stringify(view, null, 2)}\n` : formatView(view, options.save),
      );
    },
  );
}
