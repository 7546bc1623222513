/**
 * First the README itself: every command of its blocks marked `sh checked`, run in order by bash in a
 * folder holding the demo's `.careledger`, as a new user copies them (ports mapped to this demo's),
 * each output compared with the `#   ` lines under it (test/cli/readme-commands.ts says how).
 *
 * Then the "records between members" walkthrough a new user follows after `npm start`, driven through the
 * real CLI (src/cli/main.ts in a child process, as a shell would run it) against an in-process demo
 * consortium seeded with Maria Rivera's Synthea records (hospital: visits, conditions, vitals; lab:
 * lab results; pharmacy: prescriptions):
 * 1. a clinician token (`demo token --user dr.grey`); 2. `records pull` is refused by the lab and the
 * pharmacy; 3–4. Maria's token and her signed grant to the hospital (`patient consent grant --demo`);
 * 5. the pull keeps verified records with a Provenance, and a second pull keeps nothing twice;
 * 6. after `patient consent revoke` reaches the lab's and the pharmacy's ledger index, the pull is
 * refused again; 7. `patient view --save --json` shows records from all three members and the access
 * history with the lab's refusals, each with its proof status, and saves the proofs; 8. a saved
 * refusal verifies offline with `proof verify` under the `proof policy` read from the ledger, and
 * an altered copy of it does not (exit 65).
 *
 * The CLI cannot be driven in-process through src/cli/main.ts (importing it runs main() on the
 * test runner's argv), so each step spawns the CLI asynchronously; the consortium keeps serving.
 * Each TOTP sign-in is made once per account and its token reused (one sign-in per 30 s window).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEDGER_ADDRESS_SYSTEM } from '../../src/access/index.js';
import type { DevConsortium } from '../../src/cli/commands/dev-consortium.js';
import { cliNodeArgs } from '../support/cli-entry.js';
import { startDemoConsortium } from '../support/start-demo-consortium.js';
import {
  findMissingLine,
  parseCheckedBlocks,
  type ReadmeCommand,
  runReadmeCommand,
  substitute,
} from './readme-commands.js';

const repo = join(import.meta.dirname, '..', '..');
const root = mkdtempSync(join(tmpdir(), 'careledger-walkthrough-'));
/** Where `npm start` keeps its state, seen from the folder the README's commands run in. */
const dataDir = join(root, '.careledger');
const readmeBlocks = parseCheckedBlocks(readFileSync(join(repo, 'README.md'), 'utf8'));
const saveDir = join(root, 'view');
const policyFile = join(root, 'policy.txt');

/** The environment of a fresh shell: nothing of the runner's CareLedger settings leaks in. */
const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('CARELEDGER_')),
) as NodeJS.ProcessEnv;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function careledger(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...cliNodeArgs(), '--data-dir', dataDir, ...args],
      { env, maxBuffer: 512 * 1024 * 1024, timeout: 150_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
/** Runs a step that must succeed; its output is in the failure message if it does not. */
async function ok(...args: string[]): Promise<string> {
  const run = await careledger(...args);
  expect(run.code, `careledger ${args.join(' ')}\n${run.stderr}\n${run.stdout.slice(0, 4000)}`).toBe(0);
  return run.stdout;
}

async function waitFor(what: string, predicate: () => Promise<boolean>, seconds = 60): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${what}: not within ${seconds} s`);
}
async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const response = await fetch(url, { headers });
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

interface Member {
  url: string;
  address: Address;
  name: string;
  logOrigin: string;
}
let dev: DevConsortium;
let hospital: Member;
let lab: Member;
let pharmacy: Member;
let hospitalPatient: string;
let maria: Address;

/** One member's line of `records pull` (and its `provenance` line, if any). */
interface PullLine {
  status: string;
  error?: string;
  received: number;
  kept: number;
  unchanged: number;
  refused: number;
  provenance?: string;
}
function parsePull(stdout: string): Map<string, PullLine> {
  const members = new Map<string, PullLine>();
  let last: PullLine | undefined;
  for (const line of stdout.split('\n')) {
    const m =
      /^ {2}(.+?): (ok|refused|error)(?: \((.*)\))?; received (\d+), kept (\d+), already held (\d+), refused (\d+)$/.exec(
        line,
      );
    if (m !== null) {
      last = {
        status: m[2] as string,
        ...(m[3] === undefined ? {} : { error: m[3] }),
        received: Number(m[4]),
        kept: Number(m[5]),
        unchanged: Number(m[6]),
        refused: Number(m[7]),
      };
      members.set(m[1] as string, last);
      continue;
    }
    const p = /^ {4}provenance (\S+)$/.exec(line);
    if (p !== null && last !== undefined) last.provenance = p[1] as string;
  }
  return members;
}
/** `records pull`: exit 0 when some member sent records, 77 (EX_NOPERM) when every member refused. */
async function pull(expectedCode = 0): Promise<{ stdout: string; lab: PullLine; pharmacy: PullLine }> {
  const args = ['records', 'pull', hospitalPatient, '--node', hospital.url, '--token', drToken];
  const run = await careledger(...args);
  expect(run.code, `careledger ${args.join(' ')}\n${run.stderr}\n${run.stdout.slice(0, 4000)}`).toBe(
    expectedCode,
  );
  const { stdout } = run;
  const members = parsePull(stdout);
  const fromLab = members.get(lab.name);
  const fromPharmacy = members.get(pharmacy.name);
  expect(fromLab, stdout).toBeDefined();
  expect(fromPharmacy, stdout).toBeDefined();
  return { stdout, lab: fromLab as PullLine, pharmacy: fromPharmacy as PullLine };
}

/** "May the hospital see <category> of Maria's for TREAT", as `member`'s ledger index answers now. */
async function allowedAt(member: Member, category: string): Promise<boolean> {
  const query = new URLSearchParams({
    patient: maria,
    grantee: hospital.address,
    category,
    purpose: 'TREAT',
  });
  return (await getJson<{ allowed: boolean }>(`${member.url}/ledger/consent/check?${query}`)).allowed;
}

/** The member's latest anchor, as the hospital's ledger index has it. */
async function anchoredSize(of: Member): Promise<number> {
  const { anchors } = await getJson<{ anchors?: { treeSize: number }[] }>(
    `${hospital.url}/ledger/anchors?origin=${encodeURIComponent(of.logOrigin)}`,
  );
  return anchors?.at(-1)?.treeSize ?? 0;
}
async function checkpointSize(of: Member): Promise<number> {
  const response = await fetch(`${of.url}/log/checkpoint`);
  const text = await response.text();
  return Number(text.split('\n')[1]);
}

let drToken: string;
let mariaToken: string;
let grantId: string;

beforeAll(async () => {
  // All eight members, as `npm start` runs them: the README's sample output is the demo's.
  dev = await startDemoConsortium(dataDir, { seedDemoRecords: true, withPartners: true });
  const first = dev.nodes[0]?.url as string;
  const { members } = await getJson<{ members: Member[] }>(`${first}/ledger/members`);
  const member = (name: string): Member => {
    const node = dev.nodes.find((n) => n.name === name);
    const onLedger = members.find((m) => m.name.toLowerCase().includes(name)) as Member;
    return { ...onLedger, url: node?.url as string };
  };
  [hospital, lab, pharmacy] = [member('hospital'), member('lab'), member('pharmacy')];
  const seeded = JSON.parse(readFileSync(join(dataDir, 'demo-records.json'), 'utf8')) as {
    patientIds: Record<'hospital' | 'lab' | 'pharmacy', string>;
  };
  hospitalPatient = seeded.patientIds.hospital;
  const patient = await getJson<{ identifier?: { system?: string; value?: string }[] }>(
    `${hospital.url}/fhir/Patient/${hospitalPatient}`,
    { 'x-careledger-identity': 'Practitioner/registrar', 'x-careledger-roles': 'registrar' },
  );
  maria = patient.identifier?.find((i) => i.system === LEDGER_ADDRESS_SYSTEM)?.value as Address;
  expect(maria).toMatch(/^0x[0-9a-fA-F]{40}$/);
  // The lab and the pharmacy announced Maria on the record locator, and anchored their logs past
  // her records: what a user gets by waiting a few seconds after `npm start`.
  await waitFor('the lab and the pharmacy announced Maria on RecordLocator', async () => {
    const found = await getJson<{ members?: { address: string }[] }>(
      `${hospital.url}/ledger/locations/${maria}`,
    );
    const at = new Set((found.members ?? []).map((m) => m.address.toLowerCase()));
    return at.has(lab.address.toLowerCase()) && at.has(pharmacy.address.toLowerCase());
  });
  for (const m of [lab, pharmacy]) {
    const size = await checkpointSize(m);
    await waitFor(`${m.name} anchored its log past the seeded records`, async () => {
      return (await anchoredSize(m)) >= size;
    });
  }
}, 180_000);

afterAll(async () => {
  await dev?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('README: the checked blocks, run as a new user would, in order', { timeout: 300_000 }, () => {
  const values = new Map<string, string>();
  const vars: Record<string, string> = {};
  /** After `patient consent grant` the next pull expects the grant in force at the lab and the pharmacy. */
  let consentExpected = false;

  /** The README's ports (`npm start`'s defaults) as this demo's. */
  const mapPorts = (text: string) =>
    text
      .replaceAll('http://127.0.0.1:8701', hospital.url)
      .replaceAll('http://127.0.0.1:8702', lab.url)
      .replaceAll('http://127.0.0.1:8703', pharmacy.url)
      .replaceAll('http://127.0.0.1:8545', dev.chain.rpcUrl);

  async function check(command: ReadmeCommand): Promise<void> {
    const text = mapPorts(substitute(command.command, values));
    // A user runs the next command a few seconds later; here the members' ledger index is awaited,
    // as the walkthrough below does, so the pull meets the consent state the README describes.
    if (/\brecords pull\b/.test(text)) {
      await waitFor('the lab and the pharmacy see the consent the README just changed', async () => {
        return (
          (await allowedAt(lab, 'laboratory')) === consentExpected &&
          (await allowedAt(pharmacy, 'medications')) === consentExpected
        );
      });
    }
    if (/\bconsent grant\b/.test(text)) consentExpected = true;
    if (/\bconsent revoke\b/.test(text)) consentExpected = false;
    const run = await runReadmeCommand(command, text, {
      cwd: root,
      env: { ...env, ...vars },
      cliNodeArgs: cliNodeArgs(),
    });
    const shown = `README line ${command.line}: ${text}\nexit ${run.code}\n${run.stdout.slice(0, 6000)}\n${run.stderr.slice(0, 3000)}`;
    expect(run.code, shown).toBe(command.exitCode);
    if (command.assigns !== undefined) {
      expect(run.stdout.trim(), shown).not.toBe('');
      vars[command.assigns] = run.stdout.trim();
    }
    const expected = command.expected.map(mapPorts);
    expect(findMissingLine(expected, `${run.stdout}\n${run.stderr}`, values), shown).toBeUndefined();
  }

  it('has checked blocks', () => {
    expect(readmeBlocks.length).toBeGreaterThanOrEqual(10);
  });
  for (const block of readmeBlocks) {
    it(`README line ${block.line}: ${block.commands[0]?.command.slice(0, 60)}`, async () => {
      for (const command of block.commands) await check(command);
    });
  }
});

describe('README walkthrough: records between members, through the CLI', { timeout: 300_000 }, () => {
  it('1. signs the clinician in: `demo token --user dr.grey`', async () => {
    drToken = (await ok('demo', 'token', '--user', 'dr.grey')).trim();
    expect(drToken).toMatch(/^\S{20,}$/);
  });

  it('2. without consent, the lab and the pharmacy refuse the pull', async () => {
    const { stdout, lab: fromLab, pharmacy: fromPharmacy } = await pull(77);
    expect(stdout).toContain(`records of Patient/${hospitalPatient} at the other members:`);
    for (const m of [fromLab, fromPharmacy]) {
      expect(m.status, stdout).toBe('refused');
      expect(m.kept).toBe(0);
      expect(m.provenance).toBeUndefined();
    }
  });

  it('3–4. Maria signs in and grants the hospital: `patient consent grant --demo --to hospital`', async () => {
    mariaToken = (
      await ok(
        'demo',
        'token',
        '--user',
        'maria.rivera',
        '--scope',
        'openid fhirUser launch/patient patient/*.rs',
      )
    ).trim();
    expect(mariaToken).toMatch(/^\S{20,}$/);
    const stdout = await ok(
      'patient',
      'consent',
      'grant',
      '--demo',
      '--to',
      'hospital',
      '--node',
      hospital.url,
      '--token',
      mariaToken,
    );
    const m = /^grant (0x[0-9a-f]{64})$/m.exec(stdout);
    expect(m, stdout).not.toBeNull();
    grantId = m?.[1] as string;
  });

  it('5. with the grant, the pull keeps verified records with a Provenance; the next keeps nothing twice', async () => {
    // The grant was relayed by the hospital; the lab and the pharmacy decide from their own index.
    await waitFor('the grant reached the lab and the pharmacy', async () => {
      return (await allowedAt(lab, 'laboratory')) && (await allowedAt(pharmacy, 'medications'));
    });
    const second = await pull();
    // The README's steps above kept them first; what is kept names a Provenance.
    for (const m of [second.lab, second.pharmacy]) {
      expect(m.status, second.stdout).toBe('ok');
      expect(m.kept + m.unchanged, second.stdout).toBeGreaterThan(0);
      expect(m.refused, second.stdout).toBe(0);
      if (m.kept > 0) expect(m.provenance, second.stdout).toMatch(/^Provenance\/\S+$/);
    }
    const third = await pull();
    for (const [m, before] of [
      [third.lab, second.lab],
      [third.pharmacy, second.pharmacy],
    ] as const) {
      expect(m.status, third.stdout).toBe('ok');
      expect(m.kept, third.stdout).toBe(0);
      expect(m.unchanged, third.stdout).toBeGreaterThan(0);
      expect(m.unchanged, `${second.stdout}\n${third.stdout}`).toBe(before.kept + before.unchanged);
    }
  });

  it('6. after `patient consent revoke` reaches their index, the lab and the pharmacy refuse again', async () => {
    const stdout = await ok(
      'patient',
      'consent',
      'revoke',
      grantId,
      '--demo',
      '--node',
      hospital.url,
      '--token',
      mariaToken,
    );
    expect(stdout).toContain(`revoked ${grantId}`);
    await waitFor('the revocation reached the lab and the pharmacy', async () => {
      return !(await allowedAt(lab, 'laboratory')) && !(await allowedAt(pharmacy, 'medications'));
    });
    const after = await pull(77);
    for (const m of [after.lab, after.pharmacy]) {
      expect(m.status, after.stdout).toBe('refused');
      expect(m.kept).toBe(0);
    }
  });

  interface View {
    members: { name: string; status: string; error?: string }[];
    records: { memberName: string; verification: { status: string } }[];
    accessHistory: {
      memberName: string;
      auditEvent: {
        outcome?: string;
        outcomeDesc?: string;
        agent?: { who?: { reference?: string } }[];
        purposeOfEvent?: { coding?: { code?: string }[] }[];
      };
      verification: { status: string; index?: number; reason?: string };
    }[];
  }
  let view: View;
  let refusedAtLab: View['accessHistory'];

  it("7. `patient view --save --json`: Maria's records from all three members and the lab's refusals, each proven", async () => {
    const args = [
      'patient',
      'view',
      '--demo',
      '--node',
      hospital.url,
      '--token',
      mariaToken,
      '--save',
      saveDir,
      '--json',
    ];
    // The refusals are logged at once, checkpointed and cosigned within seconds: a refusal newer than
    // the lab's latest checkpoint is reported `not-yet-checkpointed` ("ask again in a few seconds").
    let last = '';
    await waitFor(
      "the lab's refusals are checkpointed",
      async () => {
        const run = await careledger(...args);
        last = `${run.code}\n${run.stderr}\n${run.stdout.slice(0, 4000)}`;
        if (run.code !== 0) return false;
        view = JSON.parse(run.stdout) as View;
        const refusals = view.accessHistory.filter(
          (a) => a.memberName === lab.name && a.auditEvent.outcome === '4',
        );
        return (
          view.members.every((m) => m.status === 'ok') &&
          refusals.length > 0 &&
          refusals.every((a) => a.verification.status === 'verified')
        );
      },
      60,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; last run: ${last}`);
    });
    expect(view.members.map((m) => [m.name, m.status])).toEqual(
      expect.arrayContaining([
        [hospital.name, 'ok'],
        [lab.name, 'ok'],
        [pharmacy.name, 'ok'],
      ]),
    );
    const from = new Set(view.records.map((r) => r.memberName));
    for (const m of [hospital, lab, pharmacy]) expect(from.has(m.name), [...from].join(', ')).toBe(true);
    expect(view.accessHistory.length).toBeGreaterThan(0);
    for (const r of view.records) expect(r.verification.status).toBe('verified');
    // Every entry has its proof status; only the newest ones (this very view, logged at the hospital a
    // moment ago) may be past the latest checkpoint.
    for (const a of view.accessHistory) {
      if (a.verification.status !== 'verified')
        expect(a.verification, JSON.stringify(a)).toMatchObject({
          status: 'failed',
          reason: 'not-yet-checkpointed',
        });
    }
    refusedAtLab = view.accessHistory.filter(
      (a) => a.memberName === lab.name && a.auditEvent.outcome === '4',
    );
    // Two refused pulls: before the grant and after the revocation; each by the hospital for Dr Grey.
    expect(refusedAtLab.length).toBeGreaterThanOrEqual(2);
    for (const a of refusedAtLab) {
      expect(a.auditEvent.agent?.[0]?.who?.reference).toBe(`Organization/${hospital.address}`);
      expect(a.auditEvent.agent?.[1]?.who?.reference).toMatch(/^Practitioner\/0x[0-9a-fA-F]{40}$/);
      expect(a.auditEvent.purposeOfEvent?.[0]?.coding?.[0]?.code).toBe('TREAT');
    }
    const saved = readdirSync(saveDir);
    expect(saved).toContain('view.json');
    for (const a of refusedAtLab) {
      expect(saved).toContain(`northside-${a.verification.index}.json`);
      expect(saved).toContain(`northside-${a.verification.index}.tlog-proof`);
    }
  });

  it("7b. `patient view` as text: the records line and the lab's refusals, proof verified", async () => {
    const stdout = await ok('patient', 'view', '--demo', '--node', hospital.url, '--token', mariaToken);
    const records = /^records: (\d+) \((\d+) verified\)$/m.exec(stdout);
    expect(records, stdout).not.toBeNull();
    expect(Number(records?.[1])).toBeGreaterThan(0);
    // Every record verifies, but one written a moment ago may be newer than its log's checkpoint.
    const unverified = stdout.split('\n').filter((l) => l.startsWith('  NOT VERIFIED '));
    expect(Number(records?.[1]) - Number(records?.[2]), stdout.slice(0, 6000)).toBe(unverified.length);
    for (const l of unverified) expect(l, stdout.slice(0, 6000)).toMatch(/: not-yet-checkpointed \(/);
    for (const m of [hospital, lab, pharmacy])
      expect(stdout).toMatch(new RegExp(`^ {2}${m.name}: \\d+$`, 'm'));
    expect(stdout).toMatch(/^access history: \d+ entries, newest first$/m);
    const refusal = new RegExp(
      `^ {2}\\S+ ${lab.name}: REFUSED operation by Organization/${hospital.address} for Practitioner/0x[0-9a-fA-F]{40} \\(TREAT\\); proof verified$`,
      'm',
    );
    expect(stdout, stdout.slice(0, 6000)).toMatch(refusal);
  });

  it("8. a saved refusal verifies offline under the lab's policy from the ledger; altered, it does not", async () => {
    const policy = await ok('proof', 'policy', lab.url);
    expect(policy).toMatch(
      new RegExp(`^log ${lab.logOrigin.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\+`, 'm'),
    );
    writeFileSync(policyFile, policy);
    const refusal = refusedAtLab[0] as View['accessHistory'][number];
    const base = join(saveDir, `northside-${refusal.verification.index}`);
    const verified = await careledger(
      'proof',
      'verify',
      `${base}.tlog-proof`,
      '--policy',
      policyFile,
      '--record',
      `${base}.json`,
    );
    expect(verified.code, `${verified.stdout}${verified.stderr}`).toBe(0);

    const altered = join(root, 'altered.json');
    const event = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as Record<string, unknown>;
    expect(event.outcome).toBe('4');
    writeFileSync(
      altered,
      JSON.stringify({ ...event, outcomeDesc: `${String(event.outcomeDesc)} (edited)` }),
    );
    const failed = await careledger(
      'proof',
      'verify',
      `${base}.tlog-proof`,
      '--policy',
      policyFile,
      '--record',
      altered,
    );
    expect(failed.code, `${failed.stdout}${failed.stderr}`).toBe(65);
    expect(`${failed.stdout}${failed.stderr}`).toMatch(/FAILED/);
    expect(existsSync(`${base}.json`)).toBe(true);
  });
  it('9. `records verify` checks a lab result as the lab served it, with keys and anchor from the chain; altered, it does not', async () => {
    const search = await getJson<{ entry: { resource: Record<string, unknown> }[] }>(
      `${lab.url}/fhir/Observation?category=laboratory&_count=1`,
      {
        'x-careledger-identity': 'Practitioner/dr-1',
        'x-careledger-roles': 'clinician',
        'x-careledger-version-proof': '1',
      },
    );
    const served = search.entry[0]?.resource as Record<string, unknown>;
    const file = join(root, 'served.json');
    writeFileSync(file, JSON.stringify(served));
    const verified = await careledger('records', 'verify', file, '--from', 'lab');
    expect(verified.code, `${verified.stdout}${verified.stderr}`).toBe(0);
    expect(verified.stdout).toMatch(/^OK: entry \d+ of lab\.careledger\.test\/log/);
    const altered = join(root, 'served-altered.json');
    writeFileSync(altered, JSON.stringify({ ...served, status: 'amended' }));
    const failed = await careledger('records', 'verify', altered, '--from', 'lab');
    expect(failed.code).toBe(65);
    expect(failed.stderr).toMatch(/NOT VERIFIED: version-mismatch/);
    // The lab's record, claimed to be from the pharmacy: not in the pharmacy's log.
    const elsewhere = await careledger('records', 'verify', file, '--from', 'pharmacy');
    expect(elsewhere.code).toBe(65);
  });
});
