/**
 * Security review F7: `careledger patient view --save <dir>` named each access entry's files after the
 * first word of the member's registry name, which a voted-in member chooses: `../../x Clinic` wrote
 * `<dir>/../../x-<index>.json`. Names are now reduced to letters, digits and hyphens (else the member's
 * address) and kept inside the folder. Real files in a temporary folder.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent } from '@medplum/fhirtypes';
import type { Address } from 'viem';
import { afterEach, describe, expect, it } from 'vitest';
import { accessEntryBase } from '../../src/cli/commands/access-entry-file.js';
import { saveView } from '../../src/cli/commands/records-exchange.js';
import type { PatientView } from '../../src/exchange/index.js';

const MEMBER: Address = '0x00000000000000000000000000000000000000Bb';
let root: string | undefined;

afterEach(() => {
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

function viewWith(memberName: string): PatientView {
  return {
    members: [],
    records: [],
    accessHistory: [
      {
        member: MEMBER,
        memberName,
        auditEvent: { resourceType: 'AuditEvent' } as AuditEvent,
        tlogProof: 'proof',
        verification: { status: 'verified', index: 7, checkpoint: { origin: 'o', size: 8 }, anchoredSize: 8 },
      },
    ],
  };
}

describe('patient view --save file names (F7)', () => {
  it('keeps a hostile member name from leaving the folder', () => {
    root = mkdtempSync(join(tmpdir(), 'careledger-save-'));
    const dir = join(root, 'a', 'b', 'save');
    saveView(viewWith('../../../escaped Clinic'), dir);
    expect(readdirSync(dir).sort()).toEqual(['escaped-7.json', 'escaped-7.tlog-proof', 'view.json']);
    expect(readdirSync(root)).toEqual(['a']);
    expect(readdirSync(join(root, 'a'))).toEqual(['b']);
  });

  it('reduces names to letters, digits and hyphens, else the member address', () => {
    expect(accessEntryBase('view', { name: 'Northside Lab', address: MEMBER }, 89)).toBe('view/northside-89');
    const dir = '/tmp/save';
    expect(accessEntryBase(dir, { name: 'Riverside General', address: MEMBER }, 3)).toBe(
      '/tmp/save/riverside-3',
    );
    expect(accessEntryBase(dir, { name: '..', address: MEMBER }, 3)).toBe(
      `/tmp/save/${MEMBER.toLowerCase()}-3`,
    );
    expect(accessEntryBase(dir, { name: 'a/b\\c\u0000\u001b[31md', address: MEMBER }, 3)).toBe(
      '/tmp/save/abc31md-3',
    );
    expect(accessEntryBase(dir, { name: '/etc/passwd', address: MEMBER }, 'unverified')).toBe(
      '/tmp/save/etcpasswd-unverified',
    );
  });
});
