/**
 * A study's protocol summary, in words a patient can read: a title and a summary (decision 0035 §5).
 * The document stays off chain; the study's on-chain `protocolHash` is SHA-256 of its canonical JSON,
 * so any member can take the document from anyone (the researcher's node) and check it. A document
 * whose hash is not the study's is never shown.
 */
import type { Address, Hex } from 'viem';
import { CareLedgerError } from '../../errors/index.js';
import { canonicalJson, sha256Hex } from '../release/release-manifest.js';
import type { Study } from '../study.js';

export interface StudyProtocol {
  readonly title: string;
  readonly summary: string;
}

/** Where a member keeps protocol documents, keyed by their hash (its database). */
export interface StudyProtocolStorage {
  putProtocol(hash: Hex, json: string): Promise<void>;
  getProtocol(hash: Hex): Promise<string | undefined>;
}

/** Plain text: no control characters but line breaks (a card shows it as text, never as markup). */
function isPlainText(value: string): boolean {
  for (const char of value) {
    const code = char.codePointAt(0) as number;
    if ((code < 0x20 && code !== 0x0a) || code === 0x7f) return false;
  }
  return true;
}

function text(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > max || !isPlainText(value)) {
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      `protocol ${field} must be plain text of 1 to ${max} characters`,
      {
        details: { field: `protocol.${field}` },
      },
    );
  }
  return value.trim();
}

export function parseStudyProtocol(json: unknown): StudyProtocol {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new CareLedgerError('ERR_INVALID_INPUT', 'protocol must be an object', {
      details: { field: 'protocol' },
    });
  const body = json as Record<string, unknown>;
  const extra = Object.keys(body).filter((key) => key !== 'title' && key !== 'summary');
  if (extra.length > 0)
    throw new CareLedgerError('ERR_INVALID_INPUT', 'protocol has a title and a summary only', {
      details: { field: `protocol.${extra[0]}` },
    });
  return { title: text(body.title, 'title', 120), summary: text(body.summary, 'summary', 2_000) };
}

/** The study's `protocolHash` for this document: SHA-256 of its canonical JSON. */
export function hashStudyProtocol(protocol: StudyProtocol): Hex {
  return sha256Hex(canonicalJson({ summary: protocol.summary, title: protocol.title }));
}

export interface StudyProtocolsDeps {
  readonly storage: StudyProtocolStorage;
  /** The node base URL of an active member (from the chain index), or undefined. */
  readonly memberBase: (address: Address) => Promise<string | undefined>;
  readonly fetch?: typeof fetch;
  readonly log?: (line: string) => void;
  /** Milliseconds; a researcher's node that did not serve the document is asked again a minute later. */
  readonly now?: () => number;
}

const ASK_AGAIN_MS = 60_000;

export interface StudyProtocols {
  /** Keeps a document; returns its hash (the proposal's `protocolHash`). */
  save(protocol: StudyProtocol): Promise<Hex>;
  /** The study's document if this member holds it or its researcher's node serves it, checked against the hash. */
  forStudy(study: Pick<Study, 'id' | 'researcher' | 'protocolHash'>): Promise<StudyProtocol | undefined>;
}

export function createStudyProtocols(deps: StudyProtocolsDeps): StudyProtocols {
  const doFetch = deps.fetch ?? fetch;
  const now = deps.now ?? Date.now;
  const asked = new Map<string, number>();
  const save = async (protocol: StudyProtocol): Promise<Hex> => {
    const hash = hashStudyProtocol(protocol);
    await deps.storage.putProtocol(hash, canonicalJson(protocol));
    return hash;
  };
  const held = async (hash: Hex): Promise<StudyProtocol | undefined> => {
    const json = await deps.storage.getProtocol(hash);
    if (json === undefined) return undefined;
    const protocol = parseStudyProtocol(JSON.parse(json));
    return hashStudyProtocol(protocol) === hash ? protocol : undefined;
  };
  return {
    save,
    async forStudy(study) {
      const hash = study.protocolHash.toLowerCase() as Hex;
      const local = await held(hash);
      const last = asked.get(hash);
      if (local !== undefined || (last !== undefined && now() - last < ASK_AGAIN_MS)) return local;
      // Not asked on every list: a researcher's node that does not serve it waits a minute.
      asked.set(hash, now());
      const base = await deps.memberBase(study.researcher);
      if (base === undefined) return undefined;
      try {
        const response = await doFetch(`${base}/research/studies/${study.id}/protocol`, {
          signal: AbortSignal.timeout(5_000),
        });
        if (response.status !== 200) return undefined;
        const protocol = parseStudyProtocol(await response.json());
        if (hashStudyProtocol(protocol) !== hash) {
          deps.log?.(`research: the protocol served for study ${study.id} does not match its on-chain hash`);
          return undefined;
        }
        await save(protocol);
        return protocol;
      } catch {
        return undefined;
      }
    },
  };
}
