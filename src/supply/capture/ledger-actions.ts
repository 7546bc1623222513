/**
 * Which SupplyChain writes an EPCIS event stands for (decision 0023): an ObjectEvent's CBV business
 * step on serialized packs (SGTINs). Other events (aggregation into cases, transactions,
 * transformations, observations with other steps) are stored and logged only.
 */
import { type Address, getAddress, type Hex } from 'viem';
import { CareLedgerError } from '../../errors/index.js';
import type { EpcisEvent } from '../epcis/index.js';
import { parseGs1DigitalLink } from '../gs1/index.js';
import { expiryToYymmdd, lotKeyOf, packKeyOf, type SupplyKey } from '../ledger/supply-keys.js';
import { cbvWord, ilmdValue, normaliseEpc } from './parse-epcis-document.js';

export type LedgerAction =
  | { readonly kind: 'commission'; readonly pack: Hex; readonly lot: Hex; readonly expiry: number }
  | { readonly kind: 'ship'; readonly pack: Hex; readonly to: Address }
  | { readonly kind: 'receive'; readonly pack: Hex }
  | { readonly kind: 'dispense'; readonly pack: Hex }
  | { readonly kind: 'destroy'; readonly pack: Hex };

const STEP_ACTIONS: Readonly<Record<string, LedgerAction['kind']>> = {
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

/**
 * The ledger writes an event stands for. A shipping event names the receiving member as its
 * `owning_party` destination: an identifier ending in the member's ledger address (CareLedger has no
 * GLN directory yet), e.g. `urn:careledger:member:0xAbC…`.
 */
export function ledgerActionsOf(event: EpcisEvent, key: SupplyKey, index: number): LedgerAction[] {
  if (event.type !== 'ObjectEvent') return [];
  const step = cbvWord(event.bizStep, 'BizStep');
  const kind = step === undefined ? undefined : STEP_ACTIONS[step];
  if (kind === undefined) return [];
  const packs: { gtin: string; serial: string; pack: Hex }[] = [];
  for (const epc of event.epcList ?? []) {
    let sgtin: { gtin: string; serial: string } | undefined;
    try {
      sgtin = sgtinOf(epc);
    } catch (error) {
      if (error instanceof CareLedgerError) refuse('invalid-epc', error.message, index);
      throw error;
    }
    if (sgtin !== undefined) packs.push({ ...sgtin, pack: packKeyOf(key, sgtin.gtin, sgtin.serial) });
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
      if (packs.length === 0) return [];
      const owner = (event.destinationList ?? []).find((d) => OWNING_PARTY.has(d.type));
      const address = owner === undefined ? undefined : /0x[0-9a-fA-F]{40}$/.exec(owner.destination)?.[0];
      if (address === undefined) {
        refuse(
          'shipping-destination',
          'a shipping event names the receiving member as an owning_party destination ending in its ledger address',
          index,
        );
      }
      const to = getAddress(address);
      return packs.map((p) => ({ kind, pack: p.pack, to }));
    }
    default:
      return packs.map((p) => ({ kind, pack: p.pack }));
  }
}
