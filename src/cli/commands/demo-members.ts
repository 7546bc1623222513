import type { MemberRole } from '../../ledger/index.js';

export interface DemoMember {
  readonly name: string;
  readonly organization: string;
  readonly role: MemberRole;
  /**
   * Members with the same host share one process (`node start --dir a --dir b`): each keeps its own
   * keys, database, port and log, and they share the runtime and the loaded FHIR definitions. The
   * care members run alone; the demo's partners share one, so the demo stays within 30 s and 2 GiB.
   */
  readonly host?: string;
  /** Admitted at genesis with the founder rather than by the members' vote (the partners). */
  readonly founding?: boolean;
}

/**
 * The demo consortium: a hospital (founding member), a lab and a pharmacy admitted by vote, and the
 * partners the breadth features need, founding members beside the hospital: a manufacturer and a
 * wholesaler (drug supply chain), an insurer (claims), a university research group (studies) and a
 * state medical board (practitioner licences).
 */
export const DEMO_MEMBERS: readonly DemoMember[] = [
  { name: 'hospital', organization: 'Riverside General Hospital', role: 'provider', founding: true },
  { name: 'lab', organization: 'Northside Clinical Laboratory', role: 'lab' },
  { name: 'pharmacy', organization: 'Harbor Community Pharmacy', role: 'pharmacy' },
  {
    name: 'manufacturer',
    organization: 'Meridian Pharmaceuticals',
    role: 'manufacturer',
    host: 'partners',
    founding: true,
  },
  {
    name: 'wholesaler',
    organization: 'Coastal Drug Distribution',
    role: 'distributor',
    host: 'partners',
    founding: true,
  },
  { name: 'insurer', organization: 'Evergreen Health Plan', role: 'payer', host: 'partners', founding: true },
  {
    name: 'research',
    organization: 'Lakeside University Research Group',
    role: 'research',
    host: 'partners',
    founding: true,
  },
  {
    name: 'board',
    organization: 'State Medical Board',
    role: 'licensing-board',
    host: 'partners',
    founding: true,
  },
];
