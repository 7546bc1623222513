/**
 * The administration page's practitioners by name and organisation (issue 22): the ledger lists
 * addresses with a keyed credential hash; the node's own accounts and Practitioner resources say who
 * each is (GET /admin/practitioner-directory, with the admin token), the member directory which
 * organisation attests them. The address is kept as a secondary detail. Pure functions (no DOM).
 */

export interface LedgerPractitioner {
  readonly address: string;
  readonly organization: string;
  readonly qualificationCode: string;
  readonly credentialHash: string;
  readonly expiresAt: number;
  readonly revoked: boolean;
  readonly expired: boolean;
  readonly valid: boolean;
}

export interface DirectoryEntry {
  readonly address: string;
  readonly practitioner: string;
  readonly name: string | null;
  readonly username: string;
  readonly disabled: boolean;
}

export interface PractitionerRow {
  /** "Dr Meredith Grey", or why no name is shown. */
  readonly name: string;
  readonly named: boolean;
  readonly organization: string;
  readonly qualification: string;
  readonly status: string;
  readonly address: string;
  readonly credentialHash: string;
  readonly expiresAt: number;
}

const QUALIFICATIONS: Record<string, string> = {
  MD: 'Doctor of medicine (MD)',
  DO: 'Doctor of osteopathy (DO)',
  RN: 'Registered nurse (RN)',
  NP: 'Nurse practitioner (NP)',
  PA: 'Physician assistant (PA)',
  PHARMD: 'Pharmacist (PharmD)',
  RPH: 'Pharmacist (RPh)',
  PRIVACY: 'Privacy officer',
};

/** The row for each attested address, sorted by name (unnamed last). */
export function practitionerRows(
  ledger: readonly LedgerPractitioner[],
  context: {
    /** Member address (lower case) → member name. */
    readonly members: ReadonlyMap<string, string>;
    /** This node's directory, or undefined until the operator gives the admin token. */
    readonly directory: readonly DirectoryEntry[] | undefined;
  },
): PractitionerRow[] {
  const byAddress = new Map((context.directory ?? []).map((d) => [d.address.toLowerCase(), d]));
  const rows = ledger.map((p): PractitionerRow => {
    const entry = byAddress.get(p.address.toLowerCase());
    const name =
      entry?.name ??
      (context.directory === undefined
        ? 'Name shown with the admin token'
        : entry === undefined
          ? 'No account at this node'
          : `Account ${entry.username} (no name on its Practitioner record)`);
    return {
      name,
      named: entry?.name !== undefined && entry.name !== null,
      organization: context.members.get(p.organization.toLowerCase()) ?? 'A member not in the directory',
      qualification: QUALIFICATIONS[p.qualificationCode.toUpperCase()] ?? p.qualificationCode,
      status: p.revoked
        ? 'Revoked'
        : p.expired
          ? 'Expired'
          : p.valid
            ? entry?.disabled === true
              ? 'Valid (account disabled)'
              : 'Valid'
            : 'Not valid (its member is not active)',
      address: p.address,
      credentialHash: p.credentialHash,
      expiresAt: p.expiresAt,
    };
  });
  return rows.sort((a, b) => Number(b.named) - Number(a.named) || a.name.localeCompare(b.name));
}
