/**
 * Which SupplyChain writes an EPCIS event stands for (decision 0023): an ObjectEvent's CBV business
 * step on serialized packs (SGTINs) and on cases (SSCCs: shipping or receiving a case moves the packs
 * packed in it), and an AggregationEvent packing SGTINs into an SSCC (ADD) or out of it (DELETE).
 * Other events (transactions, transformations, observations with other steps) are stored and logged
 * only.
 */
import { type Address, getAddress, type Hex } from 'viem';
import { CareLedgerError } from '../../errors/index.js';
import type { EpcisEvent } from '../epcis/index.js';
import { parseGs1DigitalLink } from '../gs1/index.js';
import { caseKeyOf, expiryToYymmdd, lotKeyOf, packKeyOf, type SupplyKey } from '../ledger/supply-keys.js';
import { cbvWord, ilmdValue, normaliseEpc } from './parse-epcis-document.js';

/**
 * Where a shipment goes: a member's ledger address, or a GLN (party or location) that the capture
 * resolves through the consortium's GLN directory.
 */
export type ShipTarget = { readonly to: Address } | { readonly toGln: string };

/** A GLN the event's business location names (checked against the directory at receipt). */
type ReceivedAt = { readonly atGln?: string };

export type LedgerAction =
  | { readonly kind: 'commission'; readonly pack: Hex; readonly lot: Hex; readonly expiry: number }
  | ({ readonly kind: 'ship'; readonly pack: Hex } & ShipTarget)
  | ({ readonly kind: 'receive'; readonly pack: Hex } & ReceivedAt)
  | { readonly kind: 'dispense'; readonly pack: Hex }
  | { readonly kind: 'destroy'; readonly pack: Hex }
  | { readonly kind: 'aggregate'; readonly parent: Hex; readonly children: readonly Hex[] }
  | { readonly kind: 'disaggregate'; readonly parent: Hex; readonly children: readonly Hex[] }
  | ({ readonly kind: 'ship-case'; readonly parent: Hex } & ShipTarget)
  | ({ readonly kind: 'receive-case'; readonly parent: Hex } & ReceivedAt);

type StepKind = 'commission' | 'ship' | 'receive' | 'dispense' | 'destroy';

const STEP_ACTIONS: Readonly<Record<string, StepKind>> = {
  commissioning: 'commission',
  shipping: 'ship',
  receiving: 'receive',
  dispensing: 'dispense',
  decommissioning: 'destroy',
  destroying: 'destroy',
};

const OWNING_PARTY = new Set([
  'owning_party',
  'urn:epcglobal:cbv:sdt:owning_party',
  'https://ref.gs1.org/cbv/SDT-owning_party',
]);

function refuse(reason: string, message: string, index: number): never {
  throw new CareLedgerError('ERR_INVALID_INPUT', `event ${index}: ${message}`, {
    details: { reason, event: index },
  });
}

/** The SGTIN an EPC names (GTIN-14 and serial), or undefined for any other kind of EPC. */
export function sgtinOf(epc: string): { gtin: string; serial: string } | undefined {
  const link = normaliseEpc(epc);
  if (!/\/01\/\d{14}\/21\//.test(link)) return undefined;
  const parsed = parseGs1DigitalLink(link);
  if (parsed.gtin === undefined || parsed.serial === undefined) return undefined;
  return { gtin: parsed.gtin, serial: parsed.serial };
}

/** The SSCC an EPC names (a case, a pallet), or undefined for any other kind of EPC. */
export function ssccOf(epc: string): string | undefined {
  return /\/00\/(\d{18})$/.exec(normaliseEpc(epc))?.[1];
}

/** The GLN a party or location identifier names (PGLN, SGLN, or their Digital Links 417 and 414). */
export function glnOf(id: string | undefined): string | undefined {
  if (id === undefined) return undefined;
  return /\/(?:417|414)\/(\d{13})(?:\/|$)/.exec(normaliseEpc(id))?.[1];
}

/**
 * The receiving member of a shipping event: its `owning_party` destination, either a GLN (resolved
 * through the GLN directory at capture) or an identifier ending in the member's ledger address
 * (`urn:careledger:member:0xAbC…`).
 */
function shipTargetOf(event: EpcisEvent, index: number): ShipTarget {
  const owner = (event.destinationList ?? []).find((d) => OWNING_PARTY.has(d.type));
  const gln = glnOf(owner?.destination);
  if (gln !== undefined) return { toGln: gln };
  const address = owner === undefined ? undefined : /0x[0-9a-fA-F]{40}$/.exec(owner.destination)?.[0];
  if (address === undefined) {
    refuse(
      'shipping-destination',
      'a shipping event names the receiving member as an owning_party destination: a GLN in the directory, or an identifier ending in its ledger address',
      index,
    );
  }
  return { to: getAddress(address) };
}

/** An EPC's case key, or undefined; a malformed SSCC is refused with the event index. */
function caseOf(epc: string, key: SupplyKey, index: number): Hex | undefined {
  try {
    const sscc = ssccOf(epc);
    return sscc === undefined ? undefined : caseKeyOf(key, sscc);
  } catch (error) {
    if (error instanceof CareLedgerError) refuse('invalid-epc', error.message, index);
    throw error;
  }
}

function packOf(
  epc: string,
  key: SupplyKey,
  index: number,
): { gtin: string; serial: string; pack: Hex } | undefined {
  try {
    const sgtin = sgtinOf(epc);
    return sgtin === undefined ? undefined : { ...sgtin, pack: packKeyOf(key, sgtin.gtin, sgtin.serial) };
  } catch (error) {
    if (error instanceof CareLedgerError) refuse('invalid-epc', error.message, index);
    throw error;
  }
}

/** Packing into a case (ADD) or out of it (DELETE; no children named: all of them). */
function aggregationActionsOf(event: EpcisEvent, key: SupplyKey, index: number): LedgerAction[] {
  const parent = event.parentID === undefined ? undefined : caseOf(event.parentID, key, index);
  if (parent === undefined || event.action === 'OBSERVE') return [];
  const children = (event.childEPCs ?? [])
    .map((epc) => packOf(epc, key, index)?.pack)
    .filter((pack) => pack !== undefined);
  if (event.action === 'ADD') return children.length === 0 ? [] : [{ kind: 'aggregate', parent, children }];
  return [{ kind: 'disaggregate', parent, children }];
}

/** The ledger writes an event stands for. */
export function ledgerActionsOf(event: EpcisEvent, key: SupplyKey, index: number): LedgerAction[] {
  if (event.type === 'AggregationEvent') return aggregationActionsOf(event, key, index);
  if (event.type !== 'ObjectEvent') return [];
  const step = cbvWord(event.bizStep, 'BizStep');
  const kind = step === undefined ? undefined : STEP_ACTIONS[step];
  if (kind === undefined) return [];
  const packs: { gtin: string; serial: string; pack: Hex }[] = [];
  const cases: Hex[] = [];
  for (const epc of event.epcList ?? []) {
    const pack = packOf(epc, key, index);
    if (pack !== undefined) packs.push(pack);
    const parent = pack === undefined ? caseOf(epc, key, index) : undefined;
    if (parent !== undefined) cases.push(parent);
  }
  switch (kind) {
    case 'commission': {
      if (event.action !== 'ADD')
        refuse('commissioning-action', 'commissioning events have action ADD', index);
      const lot = ilmdValue(event, 'lotNumber');
      const expiry = ilmdValue(event, 'itemExpirationDate');
      // A product without an expiry (some medical devices: a UDI need not carry AI 17) commits 0.
      if (packs.length > 0 && lot === undefined) {
        refuse(
          'commissioning-ilmd',
          'commissioning needs ilmd cbvmda:lotNumber (and cbvmda:itemExpirationDate when the product has one)',
          index,
        );
      }
      return packs.map((p) => ({
        kind,
        pack: p.pack,
        lot: lotKeyOf(key, p.gtin, lot as string),
        expiry: expiry === undefined ? 0 : expiryToYymmdd(expiry),
      }));
    }
    case 'ship': {
      if (packs.length === 0 && cases.length === 0) return [];
      const target = shipTargetOf(event, index);
      return [
        ...packs.map((p) => ({ kind, pack: p.pack, ...target })),
        ...cases.map((parent) => ({ kind: 'ship-case' as const, parent, ...target })),
      ];
    }
    case 'receive': {
      const gln = glnOf(event.bizLocation?.id);
      const at = gln === undefined ? {} : { atGln: gln };
      return [
        ...packs.map((p) => ({ kind, pack: p.pack, ...at })),
        ...cases.map((parent) => ({ kind: 'receive-case' as const, parent, ...at })),
      ];
    }
    default:
      return packs.map((p) => ({ kind, pack: p.pack }));
  }
}
