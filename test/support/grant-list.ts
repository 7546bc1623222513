import type { Address, Hex } from 'viem';
import { listGrantingPatients } from '../../src/access/index.js';
import { type ConsentDecision, type ConsentQuery, isGrantEffective } from '../../src/consent/index.js';
import { type ConsentGrant, encodeCategories, encodePurposes } from '../../src/ledger/index.js';
import type { IndexedGrant } from '../../src/sync/index.js';

/**
 * Grants as the ledger index would hold them, each with the terms its opening would carry (decision
 * 0013), for vault tests that need consent decisions without a chain: the decision is the real rule
 * (isGrantEffective), only the storage is a list.
 */
export class GrantList {
  private readonly grants: IndexedGrant[] = [];
  /** The grants by lowercased patient address: a decision reads one patient's, not the whole list. */
  private readonly byPatient = new Map<string, IndexedGrant[]>();
  private readonly terms = new Map<Hex, Pick<ConsentGrant, 'categories' | 'purposes'>>();

  add(grant: {
    patient: Address;
    grantee: Address;
    categories: string[];
    purposes: string[];
    notBefore?: number;
    notAfter?: number;
  }): Hex {
    const grantId = `0x${(this.grants.length + 1).toString(16).padStart(64, '0')}` as Hex;
    const indexed: IndexedGrant = {
      grantId,
      patient: grant.patient,
      grantee: grant.grantee,
      termsHash: grantId,
      notBefore: grant.notBefore ?? 0,
      notAfter: grant.notAfter ?? 2 ** 40,
      nonce: 0n,
      revokedAt: null,
      blockNumber: 1,
      txHash: grantId,
    };
    this.grants.push(indexed);
    const key = grant.patient.toLowerCase();
    this.byPatient.set(key, [...(this.byPatient.get(key) ?? []), indexed]);
    this.terms.set(grantId, {
      categories: encodeCategories(grant.categories),
      purposes: encodePurposes(grant.purposes),
    });
    return grantId;
  }

  revoke(grantId: Hex): void {
    const index = this.grants.findIndex((g) => g.grantId === grantId);
    const grant = this.grants[index];
    if (grant === undefined) return;
    const revoked = { ...grant, revokedAt: 1 };
    this.grants[index] = revoked;
    const own = this.byPatient.get(grant.patient.toLowerCase()) ?? [];
    own[own.indexOf(grant)] = revoked;
  }

  readonly decide = async (query: ConsentQuery): Promise<ConsentDecision> => {
    const candidates = (this.byPatient.get(query.patient.toLowerCase()) ?? []).filter(
      (g) => g.grantee === query.grantee,
    );
    const grant = candidates.find((g) => {
      const terms = this.terms.get(g.grantId);
      return terms !== undefined && isGrantEffective(g, terms, query);
    });
    if (grant !== undefined) return { allowed: true, grantId: grant.grantId, via: 'grantee' };
    return { allowed: false, reason: candidates.length === 0 ? 'no-grant' : 'not-covered' };
  };

  /** The patients with a grant to `grantee` in force at `at` (the policy's `grantingPatients`). */
  readonly granting = (grantee: Address, at: number): Promise<Address[]> =>
    listGrantingPatients(
      {
        grants: async (filter) => this.grants.filter((g) => g.grantee === filter.grantee),
        practitioner: async () => undefined,
        member: async () => undefined,
      },
      grantee,
      at,
    );
}
