import { type Address, type Hex, keccak256, toHex } from 'viem';
import { describe, expect, it } from 'vitest';
import { isCareLedgerError } from '../../errors/index.js';
import {
  createStudyProtocols,
  hashStudyProtocol,
  parseStudyProtocol,
  type StudyProtocolStorage,
} from './study-protocol.js';

const PROTOCOL = {
  title: 'Lakeside diabetes outcomes',
  summary:
    'How blood sugar, weight and blood pressure change over five years in adults with type 2 diabetes.',
};
const RESEARCHER = '0x00000000000000000000000000000000000000Bb' as Address;
const study = (protocolHash: Hex) => ({
  id: keccak256(toHex('diabetes')),
  researcher: RESEARCHER,
  protocolHash,
});

function memoryStorage(): StudyProtocolStorage & { rows: Map<string, string> } {
  const rows = new Map<string, string>();
  return {
    rows,
    putProtocol: async (hash, json) => {
      if (!rows.has(hash)) rows.set(hash, json);
    },
    getProtocol: async (hash) => rows.get(hash),
  };
}

/** The researcher's node as a fetch: serves `served` for the study's protocol, counts the calls. */
function researcherNode(served: unknown) {
  const calls: string[] = [];
  const doFetch = (async (url: string) => {
    calls.push(url);
    return new Response(JSON.stringify(served), { status: 200 });
  }) as typeof fetch;
  return { calls, doFetch };
}

describe('study protocols: a title and summary whose hash is the on-chain fingerprint', () => {
  it('takes the document from the researcher’s node and keeps it when its hash is the study’s', async () => {
    const storage = memoryStorage();
    const node = researcherNode(PROTOCOL);
    const protocols = createStudyProtocols({
      storage,
      memberBase: async (a) => (a === RESEARCHER ? 'http://research.test' : undefined),
      fetch: node.doFetch,
    });
    const hash = hashStudyProtocol(parseStudyProtocol(PROTOCOL));
    expect(await protocols.forStudy(study(hash))).toEqual(PROTOCOL);
    expect(node.calls).toEqual([`http://research.test/research/studies/${study(hash).id}/protocol`]);
    expect(await protocols.forStudy(study(hash))).toEqual(PROTOCOL);
    expect(node.calls).toHaveLength(1);
  });

  it('never shows a document whose hash is not the study’s (a researcher node serving another text)', async () => {
    const storage = memoryStorage();
    let clock = 0;
    const node = researcherNode({ ...PROTOCOL, summary: 'A different promise.' });
    const protocols = createStudyProtocols({
      storage,
      memberBase: async () => 'http://research.test',
      fetch: node.doFetch,
      now: () => clock,
    });
    const hash = hashStudyProtocol(PROTOCOL);
    expect(await protocols.forStudy(study(hash))).toBeUndefined();
    expect(storage.rows.size).toBe(0);
    // Not asked again on every list, but again a minute later.
    expect(await protocols.forStudy(study(hash))).toBeUndefined();
    expect(node.calls).toHaveLength(1);
    clock = 60_000;
    await protocols.forStudy(study(hash));
    expect(node.calls).toHaveLength(2);
  });

  it('hashes the canonical JSON, so key order does not matter, and refuses anything but plain text', () => {
    expect(hashStudyProtocol({ summary: PROTOCOL.summary, title: PROTOCOL.title })).toBe(
      hashStudyProtocol(PROTOCOL),
    );
    const refused = (json: unknown) => {
      try {
        parseStudyProtocol(json);
      } catch (error) {
        return isCareLedgerError(error) ? error.details.field : 'other';
      }
      return undefined;
    };
    expect(refused({ title: '', summary: 'x' })).toBe('protocol.title');
    expect(refused({ title: 'a\u0000b', summary: 'x' })).toBe('protocol.title');
    expect(refused({ title: 'a', summary: 'x'.repeat(2_001) })).toBe('protocol.summary');
    expect(refused({ title: 'a', summary: 'x', patients: [] })).toBe('protocol.patients');
  });
});
