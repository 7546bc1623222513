/**
 * A demo patient signs a consent grant with their own (new) key, the hospital relays it, and the lab's
 * node is asked whether it is in force. Run with `npm start` running: `npx tsx scripts/demo-grant.ts`.
 * The patient's private key never leaves this script; the nodes see only the signed grant.
 */
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { readChainStatus } from '../src/cli/commands/chain-status.js';
import { resolveDataDir } from '../src/cli/data-dir.js';
import {
  computeGrantId,
  createConsentDomain,
  createGrantSalt,
  createGrantTypedData,
  encodeCategories,
  encodePurposes,
} from '../src/ledger/index.js';

const status = await readChainStatus(resolveDataDir(undefined));
const [hospital, lab] = status.members;
if (hospital === undefined || lab === undefined)
  throw new Error('start the demo consortium first: npm start');
const nodeUrl = (fhirBaseUrl: string) => fhirBaseUrl.replace(/\/fhir$/, '');
const patient = privateKeyToAccount(generatePrivateKey());
const now = BigInt(Math.floor(Date.now() / 1000));
const domain = createConsentDomain(status.chainId, status.contracts.consentRegistry as `0x${string}`);
const grant = {
  patient: patient.address,
  grantee: lab.address,
  categories: encodeCategories(['laboratory']),
  purposes: encodePurposes(['TREAT']),
  salt: createGrantSalt(),
  notBefore: now - 60n,
  notAfter: now + 30n * 86_400n,
  nonce: 0n,
};
const signature = await patient.signTypedData(createGrantTypedData(domain, grant));
const body = JSON.stringify({
  grant: Object.fromEntries(
    Object.entries(grant).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]),
  ),
  signature,
});
console.log(`patient ${patient.address} grants ${lab.name} laboratory results for treatment, 30 days`);
console.log(`grant id ${computeGrantId(domain, grant)}`);

const relay = await fetch(`${nodeUrl(hospital.fhirBaseUrl)}/ledger/consent/grants?wait=true`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body,
});
console.log(`relayed by ${hospital.name}: HTTP ${relay.status}`, await relay.json());

const again = await fetch(`${nodeUrl(hospital.fhirBaseUrl)}/ledger/consent/grants`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body,
});
const refusal = (await again.json()) as { issue?: { diagnostics?: string }[] };
console.log(`the same grant again: HTTP ${again.status}:`, refusal.issue?.[0]?.diagnostics);

const query = `patient=${patient.address}&grantee=${lab.address}&category=laboratory&purpose=TREAT`;
for (let attempt = 0; attempt < 20; attempt += 1) {
  const answer = (await (
    await fetch(`${nodeUrl(lab.fhirBaseUrl)}/ledger/consent/check?${query}`)
  ).json()) as {
    allowed: boolean;
  };
  if (answer.allowed || attempt === 19) {
    console.log(`${lab.name} asks its own ledger index:`, answer);
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 250));
}
const other = `patient=${patient.address}&grantee=${lab.address}&category=mental-health&purpose=TREAT`;
const denied = await (await fetch(`${nodeUrl(lab.fhirBaseUrl)}/ledger/consent/check?${other}`)).json();
console.log('mental health records, not granted:', denied);
