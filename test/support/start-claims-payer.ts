/**
 * A payer member node in-process on a real embedded chain, for the claims tests: the contracts
 * deployed with two genesis members (this payer node, role payer; a provider known only by its
 * ledger key, role provider), the node started with the development identity header on for its own
 * staff. The provider reaches the payer the way members do: SMART Backend Services with a client
 * assertion signed by its ledger key (MemberClient), in-process through `app.request`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesToHex, hexToBytes } from 'viem';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { MemberClient } from '../../src/exchange/index.js';
import type { Deployment } from '../../src/ledger/index.js';
import { nodePaths, saveNodeConfig } from '../../src/node/node-config.js';
import { loadOrCreateAdminToken } from '../../src/node/node-keys.js';
import { type RunningNode, startNode } from '../../src/node/start-node.js';
import { signGrantForNewPatient } from './consent-signer.js';
import { createTestMemberKeys, deployTestConsortium, testGenesisMember } from './deploy-test-consortium.js';
import { enrolPatientKeyInApp } from './enrol-patient-key.js';

/** The payer's public URL as its tokens name it; requests go in-process, never to this port. */
export const PAYER_URL = 'http://127.0.0.1:1';

export interface ClaimsPayer {
  readonly node: RunningNode;
  readonly deployment: Deployment;
  readonly provider: PrivateKeyAccount;
  /** The provider's ledger key (hex), as its key file holds it. */
  readonly providerKey: `0x${string}`;
  readonly adminToken: string;
  /** A request to the payer node, in-process (path relative to its base URL). */
  request(path: string, init?: RequestInit): Promise<Response>;
  /**
   * A patient at the payer with an enrolled ledger key, by default with an active Coverage over
   * `period` and an HPAYMT grant to the payer for financial, conditions and procedures.
   */
  newMember(options: {
    period: { start: string; end: string };
    coverage?: boolean;
    consent?: boolean;
  }): Promise<{ id: string; address: `0x${string}` }>;
  /** A SMART Backend Services token of the provider member at the payer, for a purpose of use. */
  providerToken(purpose?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startClaimsPayer(): Promise<ClaimsPayer> {
  const dir = mkdtempSync(join(tmpdir(), 'careledger-claims-'));
  const nodeDir = join(dir, 'payer');
  const keys = createTestMemberKeys(nodeDir, 'payer.careledger.test/log');
  const account = keys.account;
  const providerKey = generatePrivateKey();
  const provider = privateKeyToAccount(providerKey);
  const fhirBaseUrl = `${PAYER_URL}/fhir`;
  const { chain, deployment, nodeConfig } = await deployTestConsortium(dir, {
    members: [
      testGenesisMember(keys, { name: 'Northwind Health Plan', role: 'payer', fhirBaseUrl }),
      // The provider runs no node here: its account and log origin are its own, the log key the payer's.
      {
        ...testGenesisMember(keys, { name: 'Riverside Clinic', role: 'provider', fhirBaseUrl }),
        account: provider.address,
        logOrigin: 'clinic.careledger.test/log',
      },
    ],
    threshold: 1,
  });
  saveNodeConfig(nodeDir, {
    ...nodeConfig,
    name: 'payer',
    organization: 'Northwind Health Plan',
    role: 'payer',
    port: 0,
    publicUrl: PAYER_URL,
    logOrigin: keys.logOrigin,
    log: { anchorIntervalMs: 500 },
  });
  const node = await startNode(nodeDir, { log: () => undefined, port: 0 });
  const request = async (path: string, init?: RequestInit) => node.app.request(`${PAYER_URL}${path}`, init);
  const client = new MemberClient({
    member: { address: account.address, name: 'payer', fhirBaseUrl: `${PAYER_URL}/fhir` },
    fetch: async (url, init) => node.app.request(String(url), init),
  });
  return {
    node,
    deployment,
    provider,
    providerKey,
    adminToken: loadOrCreateAdminToken(nodePaths(nodeDir).adminToken),
    request,
    async newMember(options) {
      const key = generatePrivateKey();
      const headers = (who: string, roles: string) => ({
        'x-careledger-identity': who,
        'x-careledger-roles': roles,
        'content-type': 'application/fhir+json',
      });
      const created = await request('/fhir/Patient', {
        method: 'POST',
        headers: headers('Practitioner/registrar', 'registrar'),
        body: JSON.stringify({
          resourceType: 'Patient',
          name: [{ family: 'Member' }],
          birthDate: '1980-02-03',
        }),
      });
      const id = ((await created.json()) as { id: string }).id;
      await enrolPatientKeyInApp(node.app, id, key);
      if (options.coverage !== false) {
        const coverage = await request('/fhir/Coverage', {
          method: 'POST',
          headers: headers('Practitioner/payer-staff', 'clinician'),
          body: JSON.stringify({
            resourceType: 'Coverage',
            status: 'active',
            subscriberId: `NW-${id.slice(0, 8)}`,
            beneficiary: { reference: `Patient/${id}` },
            payor: [{ display: 'Northwind Health Plan' }],
            period: options.period,
          }),
        });
        if (coverage.status !== 201) throw new Error(`Coverage not stored: ${coverage.status}`);
      }
      if (options.consent !== false) {
        const grant = await signGrantForNewPatient({
          chainId: 31337,
          consentRegistry: deployment.contracts.consentRegistry,
          grantee: account.address,
          categories: ['financial', 'conditions', 'procedures'],
          purposes: ['HPAYMT'],
          nowSeconds: Math.floor(Date.now() / 1000),
          patientKey: key,
        });
        const relayed = await request('/ledger/consent/grants?wait=true', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: grant.body,
        });
        if (relayed.status !== 201) throw new Error(`grant not relayed: ${relayed.status}`);
      }
      await node.indexer.sync();
      return { id, address: privateKeyToAccount(key).address };
    },
    providerToken: (purpose = 'HPAYMT') =>
      client.memberToken(
        {
          address: provider.address,
          sign: async (hash) => hexToBytes(await provider.sign({ hash: bytesToHex(hash) })),
        },
        { purpose },
      ),
    async stop() {
      await node.close();
      await chain.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
