/**
 * The pharmacist's page (issue 19 item 8): scan or type a pack's DataMatrix (or its GS1 Digital Link)
 * and read the ledger's verdict in words: may it be handed out, and if not, why. A keyboard-wedge
 * scanner types FNC1 as the GS character; a person can type `<GS>` for it, or the bracketed form.
 */
import { errorText, sendJson } from '../api.js';
import { nodeStatus } from '../context.js';
import { field, formatDate, h, message, replace } from '../dom.js';
import { isPatient, type Session } from '../session.js';

interface Verification {
  verdict: string;
  verificationTimestamp: string;
  data: { verified: boolean; verificationFailureReason?: string; additionalInfo?: string };
  product: { gtin: string; serial: string; lot?: string; expiry?: string };
  state?: { status: string; expiry?: string; owner: string; manufacturer: string };
  custody: { event: string; blockNumber: number }[];
  otherSteps: number;
  responder: string;
}

/** Every verdict of the ledger in the words a pharmacist acts on. */
export const VERDICT_WORDS: Readonly<Record<string, { ok: boolean; title: string; advice: string }>> = {
  verified: {
    ok: true,
    title: 'Genuine pack',
    advice: 'The pack is known to its manufacturer and may be dispensed.',
  },
  'no-match-gtin-serial': {
    ok: false,
    title: 'Unknown pack',
    advice:
      'No pack with this product code and serial number was ever made. Do not dispense: it may be counterfeit.',
  },
  'lot-mismatch': {
    ok: false,
    title: 'Batch does not match',
    advice: "The batch number on the pack is not the manufacturer's. Do not dispense: it may be counterfeit.",
  },
  'expiry-mismatch': {
    ok: false,
    title: 'Expiry date does not match',
    advice: "The expiry date on the pack is not the manufacturer's. Do not dispense: it may be counterfeit.",
  },
  'lot-expiry-mismatch': {
    ok: false,
    title: 'Batch and expiry do not match',
    advice:
      "Neither the batch nor the expiry on the pack is the manufacturer's. Do not dispense: it may be counterfeit.",
  },
  recalled: {
    ok: false,
    title: 'Recalled',
    advice: 'The manufacturer recalled this pack. Do not dispense; set it aside for return.',
  },
  'already-dispensed': {
    ok: false,
    title: 'Already dispensed',
    advice:
      'This serial number was already handed to a patient: the pack in hand is a copy. Do not dispense.',
  },
  suspect: {
    ok: false,
    title: 'Suspect pack',
    advice:
      'A trading partner flagged this pack on the ledger (shipped twice, or taken by the wrong member). Do not dispense.',
  },
  destroyed: {
    ok: false,
    title: 'Destroyed',
    advice: 'This pack was recorded as destroyed. Do not dispense: the pack in hand is a copy.',
  },
  expired: { ok: false, title: 'Expired', advice: 'The pack is past its expiry date. Do not dispense.' },
};

let memberRole: string | undefined;
void nodeStatus()
  .then((status) => {
    memberRole = status.role;
  })
  .catch(() => undefined);

/** Staff of a member with one of these ledger roles see the supply pages in the menu. */
export function isSupplyStaff(s: Session | undefined, roles: readonly string[]): boolean {
  return s !== undefined && !isPatient(s) && roles.includes(memberRole ?? '');
}

/** `<GS>`, `{GS}` or `\x1d` typed by a person stand for FNC1 (ASCII 29). */
export function scannedText(typed: string): string {
  return typed.replace(/<GS>|\{GS\}|\\x1d/gi, '\u001d').trim();
}

function verdictCard(result: Verification, self: string): HTMLElement {
  const words = VERDICT_WORDS[result.verdict] ?? {
    ok: false,
    title: result.verdict,
    advice: 'Do not dispense.',
  };
  const state = result.state;
  const heldHere = state !== undefined && state.owner.toLowerCase() === self.toLowerCase();
  return h(
    'section',
    { class: 'card', id: 'verdict', 'aria-live': 'polite' },
    message(words.ok ? 'ok' : 'error', h('strong', {}, `${words.title}. `), words.advice),
    h(
      'dl',
      {},
      h('dt', {}, 'Product code (GTIN)'),
      h('dd', {}, result.product.gtin),
      h('dt', {}, 'Serial number'),
      h('dd', {}, result.product.serial),
      result.product.lot === undefined ? null : [h('dt', {}, 'Batch'), h('dd', {}, result.product.lot)],
      state?.expiry === undefined
        ? null
        : [h('dt', {}, 'Expiry (ledger)'), h('dd', {}, formatDate(state.expiry))],
      state === undefined
        ? null
        : [
            h('dt', {}, 'Held by'),
            h('dd', {}, heldHere ? 'this pharmacy' : 'another member (not received here)'),
            h('dt', {}, 'Steps you took part in'),
            h('dd', {}, `${result.custody.length} (and ${result.otherSteps} by others)`),
          ],
    ),
    h(
      'p',
      { class: 'hint' },
      `GS1 answer: verified ${result.data.verified ? 'yes' : 'no'}${
        result.data.verificationFailureReason === undefined
          ? ''
          : `, ${result.data.verificationFailureReason}`
      }${result.data.additionalInfo === undefined ? '' : `, ${result.data.additionalInfo}`}.`,
    ),
  );
}

export async function renderSupplyVerify(main: HTMLElement): Promise<void> {
  const status = await nodeStatus();
  const input = h('input', {
    type: 'text',
    name: 'datamatrix',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
  }) as HTMLInputElement;
  const out = h('div', { id: 'verify-result' });
  const form = h(
    'form',
    {
      novalidate: true,
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const text = scannedText(input.value);
        if (text === '') {
          replace(out, message('error', 'Scan or type the code on the pack first.'));
          return;
        }
        replace(out, message('info', 'Asking the ledger…'));
        try {
          const body = /^https?:\/\//i.test(text) ? { digitalLink: text } : { datamatrix: text };
          const result = await sendJson<Verification>('/supply/verify', body);
          replace(out, verdictCard(result, status.address));
        } catch (error) {
          replace(out, message('error', `The code could not be read: ${errorText(error)}`));
        }
        input.select();
      },
    },
    field(
      'Pack code (DataMatrix or GS1 Digital Link)',
      input,
      'Scan the 2D code on the pack, or type it: (01)09506000134352(17)301231(10)L1(21)S1, or with <GS> between fields.',
    ),
    h('button', { type: 'submit', class: 'primary' }, 'Check pack'),
  );
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Check a pack'),
    h(
      'p',
      {},
      'Before handing out a serialized medicine, check it against the ledger: counterfeit, recalled, expired and already-dispensed packs are caught here and again when the dispense is recorded.',
    ),
    form,
    out,
  );
  input.focus();
}
