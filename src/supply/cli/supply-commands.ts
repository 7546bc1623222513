/**
 * `careledger supply …` (issue 19 item 8): a trading partner's everyday steps against its own node.
 * commission, ship and receive are sent as EPCIS 2.0 capture documents (`POST /epcis/capture`);
 * verify asks `POST /supply/verify` with a scanned DataMatrix string or a GS1 Digital Link; recall and
 * reach use `/supply/recalls`. Authenticates with a SMART bearer token (`--token` or
 * CARELEDGER_TOKEN), or on a development node with `--identity Practitioner/<id>`.
 */
import type { Command } from 'commander';
import { CareLedgerError } from '../../errors/index.js';
import { formatSgtinUri, parseGtin } from '../gs1/index.js';

export interface CommandOutput {
  write(text: string): unknown;
}

interface NodeOptions {
  readonly node: string;
  readonly token?: string;
  readonly identity?: string;
}

/** Calls the node; an error answer (OperationOutcome or EPCIS problem details) becomes a CareLedgerError. */
async function callNode<T>(options: NodeOptions, method: string, path: string, body?: unknown): Promise<T> {
  const token = options.token ?? process.env.CARELEDGER_TOKEN;
  let response: Response;
  try {
    response = await fetch(new URL(path, options.node), {
      method,
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token === undefined || token === '' ? {} : { authorization: `Bearer ${token}` }),
        ...(options.identity === undefined
          ? {}
          : { 'x-careledger-identity': options.identity, 'x-careledger-roles': 'clinician' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(120_000),
    });
  } catch (cause) {
    throw new CareLedgerError('ERR_CHAIN_UNAVAILABLE', `${options.node} does not answer`, { cause });
  }
  const text = await response.text();
  const parsed = (text === '' ? undefined : JSON.parse(text)) as
    | { detail?: string; reason?: string; issue?: { diagnostics?: string }[] }
    | undefined;
  if (!response.ok) {
    const message =
      parsed?.detail ?? parsed?.issue?.map((i) => i.diagnostics).join('; ') ?? `HTTP ${response.status}`;
    const code =
      response.status === 401
        ? 'ERR_UNAUTHENTICATED'
        : response.status === 403
          ? 'ERR_FORBIDDEN'
          : response.status === 422
            ? 'ERR_UNPROCESSABLE'
            : response.status >= 500
              ? 'ERR_UPSTREAM'
              : 'ERR_INVALID_INPUT';
    throw new CareLedgerError(code, `${path}: ${message}`, {
      details: {
        status: response.status,
        ...(parsed?.reason === undefined ? {} : { reason: parsed.reason }),
      },
    });
  }
  return parsed as T;
}

/** One EPCIS ObjectEvent over serialized packs of one GTIN, in a capture document. */
export function createPackEventDocument(
  gtin: string,
  serials: readonly string[],
  bizStep: 'commissioning' | 'shipping' | 'receiving',
  extra: Record<string, unknown>,
  now: Date = new Date(),
): Record<string, unknown> {
  const checked = parseGtin(gtin);
  return {
    '@context': ['https://ref.gs1.org/standards/epcis/epcis-context.jsonld'],
    type: 'EPCISDocument',
    schemaVersion: '2.0',
    creationDate: now.toISOString(),
    epcisBody: {
      eventList: [
        {
          type: 'ObjectEvent',
          eventTime: now.toISOString(),
          eventTimeZoneOffset: '+00:00',
          epcList: serials.map((serial) => formatSgtinUri(checked, serial)),
          action: bizStep === 'commissioning' ? 'ADD' : 'OBSERVE',
          bizStep,
          ...extra,
        },
      ],
    },
  };
}

const nodeOptions = (command: Command) =>
  command
    .requiredOption('--node <url>', "this member's node base URL")
    .option('--token <token>', 'SMART access token (default: CARELEDGER_TOKEN)')
    .option(
      '--identity <ref>',
      'development identity header (loopback demo nodes only), e.g. Practitioner/p1',
    );

const packOptions = (command: Command) =>
  nodeOptions(command)
    .requiredOption('--gtin <gtin>', 'GTIN-14 of the product')
    .requiredOption('--serial <serial...>', 'serial number(s) of the pack(s)');

interface CaptureAnswer {
  readonly events: readonly { eventHash: string; logIndex: number; ledger: readonly string[] }[];
}

export function registerSupplyCommands(program: Command, out: CommandOutput = process.stdout): void {
  const supply = program
    .command('supply')
    .description('serialized drug packs: EPCIS events, verification, recalls');
  const capture = async (o: NodeOptions, document: Record<string, unknown>) => {
    const answer = await callNode<CaptureAnswer>(o, 'POST', '/epcis/capture', document);
    for (const event of answer.events) {
      out.write(
        `captured ${event.eventHash} (log index ${event.logIndex}, ${event.ledger.length} ledger write(s))\n`,
      );
    }
  };
  packOptions(supply.command('commission').description('commission packs (manufacturer)'))
    .requiredOption('--lot <lot>', 'lot / batch number')
    .requiredOption('--expiry <date>', 'expiry date YYYY-MM-DD')
    .action(async (o: NodeOptions & { gtin: string; serial: string[]; lot: string; expiry: string }) => {
      await capture(
        o,
        createPackEventDocument(o.gtin, o.serial, 'commissioning', {
          disposition: 'active',
          ilmd: { 'cbvmda:lotNumber': o.lot, 'cbvmda:itemExpirationDate': o.expiry },
        }),
      );
    });
  packOptions(supply.command('ship').description('ship packs to another member'))
    .requiredOption('--to <address>', "the receiving member's ledger address")
    .action(async (o: NodeOptions & { gtin: string; serial: string[]; to: string }) => {
      if (!/^0x[0-9a-fA-F]{40}$/.test(o.to)) {
        throw new CareLedgerError('ERR_INVALID_INPUT', '--to is a member ledger address (0x…)');
      }
      await capture(
        o,
        createPackEventDocument(o.gtin, o.serial, 'shipping', {
          disposition: 'in_transit',
          destinationList: [{ type: 'owning_party', destination: `urn:careledger:member:${o.to}` }],
        }),
      );
    });
  packOptions(supply.command('receive').description('receive packs shipped to this member')).action(
    async (o: NodeOptions & { gtin: string; serial: string[] }) => {
      await capture(
        o,
        createPackEventDocument(o.gtin, o.serial, 'receiving', { disposition: 'in_progress' }),
      );
    },
  );
  nodeOptions(
    supply
      .command('verify <scan>')
      .description(
        'verify a pack from its DataMatrix string or GS1 Digital Link; exits non-zero unless verified',
      ),
  ).action(async (scan: string, o: NodeOptions) => {
    const body = /^https?:\/\//i.test(scan) ? { digitalLink: scan } : { datamatrix: scan };
    const answer = await callNode<{ verdict: string; data: Record<string, unknown>; custody: unknown[] }>(
      o,
      'POST',
      '/supply/verify',
      body,
    );
    out.write(`${JSON.stringify(answer, null, 2)}\n`);
    if (answer.verdict !== 'verified') {
      throw new CareLedgerError('ERR_PRECONDITION_FAILED', `the pack is not verified: ${answer.verdict}`, {
        details: { reason: answer.verdict },
      });
    }
  });
  nodeOptions(supply.command('recall').description('recall a lot, or one serial (manufacturer)'))
    .requiredOption('--gtin <gtin>', 'GTIN-14 of the product')
    .option('--lot <lot>', 'the lot to recall')
    .option('--serial <serial>', 'the one pack to recall')
    .action(async (o: NodeOptions & { gtin: string; lot?: string; serial?: string }) => {
      const answer = await callNode<Record<string, unknown>>(o, 'POST', '/supply/recalls', {
        gtin: o.gtin,
        ...(o.lot === undefined ? {} : { lot: o.lot }),
        ...(o.serial === undefined ? {} : { serial: o.serial }),
      });
      out.write(`${JSON.stringify(answer)}\n`);
    });
  nodeOptions(supply.command('reach').description('how many patients a lot recall reached, per member'))
    .requiredOption('--gtin <gtin>', 'GTIN-14 of the product')
    .requiredOption('--lot <lot>', 'the recalled lot')
    .action(async (o: NodeOptions & { gtin: string; lot: string }) => {
      const query = new URLSearchParams({ gtin: o.gtin, lot: o.lot });
      out.write(`${JSON.stringify(await callNode(o, 'GET', `/supply/recalls/reach?${query}`), null, 2)}\n`);
    });
}
