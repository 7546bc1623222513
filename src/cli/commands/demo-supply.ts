/**
 * The demo's drug supply chain, seeded once (issue 19, decision 0023): Meridian Pharmaceuticals
 * commissions serialized packs of one product in two lots, packs them into a case and ships it to the
 * wholesaler, which receives it and ships it on to the pharmacy, which receives it. One pack of the
 * first lot is already expired. Everything goes through each member's own `POST /epcis/capture`;
 * each event with ledger writes waits for its block, so the events are few and the three
 * commissionings are sent at once.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Address, getAddress, isAddress } from 'viem';
import { CareLedgerError } from '../../errors/index.js';
import { writeFileDurably } from '../../storage/write-file-durably.js';
import { computeGs1CheckDigit, formatGs1DigitalLink, formatSgtinUri } from '../../supply/gs1/index.js';
import { requestJson } from '../http-json.js';

/** Meridian's product: GS1's example company prefix 950600, item 1343, with its check digit. */
export const DEMO_GTIN = `0950600013437${computeGs1CheckDigit('0950600013437')}`;
/** The case the packs travel in (SSCC-18 with its check digit). */
const DEMO_SSCC = `09506000000000001${computeGs1CheckDigit('09506000000000001')}`;
export const DEMO_SUPPLY_MARKER = 'demo-supply.json';
const EVENTS_FROM = Date.UTC(2026, 10, 2, 9, 0, 0);

export interface DemoSupplyNode {
  readonly url: string;
  /** Not needed here: EPCIS capture is for a member's staff (the demo's development identity header). */
  readonly adminToken?: string;
  /** The member's ledger address; looked up in `/ledger/members` by its URL when not given. */
  readonly address?: Address;
}

export interface DemoSupplyNodes {
  readonly manufacturer: DemoSupplyNode;
  readonly wholesaler: DemoSupplyNode;
  readonly pharmacy: DemoSupplyNode;
}

/** One pack at the pharmacy, as its DataMatrix reads (human-readable form) and as a Digital Link. */
export interface DemoPack {
  readonly elementString: string;
  readonly digitalLink: string;
  readonly gtin: string;
  readonly lot: string;
  readonly serial: string;
  /** ISO date. */
  readonly expiry: string;
}

export interface DemoSupplyResult {
  /** Verified and dispensable at the pharmacy. */
  readonly goodPack: DemoPack;
  /** Of the lot the README asks the manufacturer to recall (`careledger supply recall --lot`). */
  readonly recallPack: DemoPack;
  /** Expired: refused at dispense. */
  readonly expiredPack: DemoPack;
  /** Every pack now owned by the pharmacy. */
  readonly packs: readonly DemoPack[];
}

const LOTS = [
  { lot: 'MRD-2701', expiry: '2027-03-31', serials: ['MRD10001', 'MRD10002', 'MRD10003'] },
  { lot: 'MRD-2709', expiry: '2027-09-30', serials: ['MRD20001', 'MRD20002', 'MRD20003'] },
  // The first lot's early pack, already past its expiry.
  { lot: 'MRD-2701', expiry: '2026-06-30', serials: ['MRD10099'] },
] as const;

/** A member's staff, as the demo nodes accept them (development identity header). */
const SUPPLY_CLERK = {
  'x-careledger-identity': 'Practitioner/supply-clerk',
  'x-careledger-roles': 'clinician',
};

function pack(gtin: string, lot: string, serial: string, expiry: string): DemoPack {
  const yymmdd = expiry.slice(2).replaceAll('-', '');
  return {
    elementString: `(01)${gtin}(17)${yymmdd}(10)${lot}(21)${serial}`,
    digitalLink: formatGs1DigitalLink({ gtin, lot, serial, expiry }),
    gtin,
    lot,
    serial,
    expiry,
  };
}

/**
 * Seeds the supply chain once (a marker file `demo-supply.json` in `dataDir` holds the result, which
 * later runs return unchanged).
 */
export async function seedDemoSupply(
  dataDir: string,
  nodes: DemoSupplyNodes,
  log: (line: string) => void,
): Promise<DemoSupplyResult> {
  const marker = join(dataDir, DEMO_SUPPLY_MARKER);
  if (existsSync(marker)) return JSON.parse(readFileSync(marker, 'utf8')) as DemoSupplyResult;
  const [wholesaler, pharmacy] = await Promise.all([
    addressOf(nodes.manufacturer, nodes.wholesaler, 'wholesaler'),
    addressOf(nodes.manufacturer, nodes.pharmacy, 'pharmacy'),
  ]);
  const packs = LOTS.flatMap((l) => l.serials.map((serial) => pack(DEMO_GTIN, l.lot, serial, l.expiry)));
  const epcs = packs.map((p) => formatSgtinUri(p.gtin, p.serial));
  // Fixed, distinct event times: no two events hash alike, and a run cut short before the marker is
  // written re-sends the very same events, which capture takes once (idempotent per event hash).
  let tick = 0;
  const at = () => new Date(EVENTS_FROM + 1000 * tick++).toISOString();
  const event = (bizStep: string, epcList: readonly string[], extra: Record<string, unknown> = {}) => ({
    type: 'ObjectEvent',
    eventTime: at(),
    eventTimeZoneOffset: '+00:00',
    epcList,
    action: 'OBSERVE',
    bizStep,
    ...extra,
  });
  const shipTo = (to: Address) => ({
    disposition: 'in_transit',
    destinationList: [{ type: 'owning_party', destination: `urn:careledger:member:${to}` }],
  });

  // Each commissioning is its own capture, all sent at once: their ledger writes share blocks.
  const commissioning = LOTS.map((l) =>
    event(
      'commissioning',
      l.serials.map((serial) => formatSgtinUri(DEMO_GTIN, serial)),
      {
        action: 'ADD',
        disposition: 'active',
        ilmd: { 'cbvmda:lotNumber': l.lot, 'cbvmda:itemExpirationDate': l.expiry },
      },
    ),
  );
  await Promise.all(commissioning.map((e) => capture(nodes.manufacturer, [e])));
  await capture(nodes.manufacturer, [
    {
      type: 'AggregationEvent',
      eventTime: at(),
      eventTimeZoneOffset: '+00:00',
      parentID: `https://id.gs1.org/00/${DEMO_SSCC}`,
      childEPCs: epcs,
      action: 'ADD',
      bizStep: 'packing',
      disposition: 'in_progress',
    },
    event('shipping', epcs, shipTo(wholesaler)),
  ]);
  log(
    `[manufacturer] commissioned ${packs.length} packs of GTIN ${DEMO_GTIN} and shipped them to the wholesaler`,
  );
  await capture(nodes.wholesaler, [event('receiving', epcs), event('shipping', epcs, shipTo(pharmacy))]);
  log('[wholesaler] received the case and shipped it to the pharmacy');
  await capture(nodes.pharmacy, [event('receiving', epcs)]);
  log('[pharmacy] received the case');

  const result: DemoSupplyResult = {
    goodPack: packs[3] as DemoPack,
    recallPack: packs[0] as DemoPack,
    expiredPack: packs[6] as DemoPack,
    packs,
  };
  writeFileDurably(marker, `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

async function capture(node: DemoSupplyNode, events: readonly unknown[]): Promise<void> {
  await requestJson(`${node.url}/epcis/capture`, {
    body: {
      '@context': ['https://ref.gs1.org/standards/epcis/epcis-context.jsonld'],
      type: 'EPCISDocument',
      schemaVersion: '2.0',
      creationDate: new Date(EVENTS_FROM).toISOString(),
      epcisBody: { eventList: events },
    },
    headers: SUPPLY_CLERK,
    timeoutMs: 120_000,
  });
}

/** A member's ledger address: given, or the member whose FHIR base is at that node's URL. */
async function addressOf(asked: DemoSupplyNode, node: DemoSupplyNode, name: string): Promise<Address> {
  if (node.address !== undefined) return getAddress(node.address);
  const { members } = await requestJson<{ members: { address: string; fhirBaseUrl: string }[] }>(
    `${asked.url}/ledger/members`,
  );
  const origin = new URL(node.url).origin;
  const found = members.find((m) => URL.canParse(m.fhirBaseUrl) && new URL(m.fhirBaseUrl).origin === origin);
  if (found === undefined || !isAddress(found.address)) {
    throw new CareLedgerError('ERR_NOT_FOUND', `no member's FHIR base is at the ${name}'s URL`);
  }
  return getAddress(found.address);
}
