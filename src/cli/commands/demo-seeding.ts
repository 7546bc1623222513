/**
 * The demo's seeding beside the story's records: the drug supply story, the research group's
 * studies and the State Medical Board's licences. Each starts once its members run and is awaited
 * by the consortium before it is ready; each is skipped when the demo seeds nothing or runs
 * without the members it needs (the tests' three-member consortium).
 */
import { nodePaths } from '../../node/node-config.js';
import { loadOrCreateLedgerKey } from '../../node/node-keys.js';
import { seedDemoCredentials } from './demo-credentials.js';
import { type DemoResearchResult, seedDemoResearch } from './demo-research.js';
import { type DemoSupplyResult, seedDemoSupply } from './demo-supply.js';

/** What the seeders need of the running consortium. */
export interface SeedingContext {
  readonly dataDir: string;
  readonly chainId: number;
  /** False when the demo was started without its story (`seedDemoRecords`). */
  readonly seed: boolean;
  /** The member's URL, or undefined when it does not run. */
  url(name: string): string | undefined;
  /** The member's folder, for its ledger key. */
  dir(name: string): string;
  adminOf(name: string): { url: string; adminToken: string };
  log(line: string): void;
}

/** The members that check every clinician's licence live once seeding is done (decision 0028). */
export function licenceCheckingMembers(ctx: SeedingContext): { url: string; adminToken: string }[] {
  return ['hospital', 'lab'].filter((n) => ctx.url(n) !== undefined).map((n) => ctx.adminOf(n));
}

/** Packs commissioned, shipped to the wholesaler and on to the pharmacy: a few blocks of their own. */
export function startSupplySeeding(ctx: SeedingContext): Promise<DemoSupplyResult | undefined> {
  const [manufacturer, wholesaler, pharmacy] = [
    ctx.url('manufacturer'),
    ctx.url('wholesaler'),
    ctx.url('pharmacy'),
  ];
  if (!ctx.seed || manufacturer === undefined || wholesaler === undefined || pharmacy === undefined)
    return Promise.resolve(undefined);
  return seedDemoSupply(
    ctx.dataDir,
    { manufacturer: { url: manufacturer }, wholesaler: { url: wholesaler }, pharmacy: { url: pharmacy } },
    (line) => ctx.log(line),
  );
}

/** The research group's studies, seeded once beside the story (they need no patient). */
export function startResearchSeeding(ctx: SeedingContext): Promise<DemoResearchResult | undefined> {
  if (!ctx.seed || ctx.url('research') === undefined) return Promise.resolve(undefined);
  return seedDemoResearch(
    ctx.dataDir,
    { research: ctx.adminOf('research'), hospital: ctx.adminOf('hospital') },
    (line) => ctx.log(line),
  );
}

/**
 * The State Medical Board's issuer key voted in, the demo clinicians' licences issued, recorded on
 * the ledger and presented at the hospital (decision 0028); the check is switched on at the end.
 */
export function startCredentialSeeding(ctx: SeedingContext): Promise<unknown[] | undefined> {
  if (!ctx.seed || ctx.url('board') === undefined) return Promise.resolve(undefined);
  return seedDemoCredentials({
    dataDir: ctx.dataDir,
    chainId: ctx.chainId,
    board: {
      ...ctx.adminOf('board'),
      address: loadOrCreateLedgerKey(nodePaths(ctx.dir('board')).ledgerKey).address,
    },
    voters: [ctx.adminOf('hospital')],
    members: { hospital: ctx.adminOf('hospital') },
    enforceAt: licenceCheckingMembers(ctx),
    devClinicians: ['Practitioner/dr-1'],
    switchOn: false,
    log: (line) => ctx.log(line),
  });
}
