/**
 * The research studies as the node's index describes them (GET /research/studies, decision 0024), and
 * their words for the portal's research pages: who runs a study, what it would receive, its period.
 * The chain holds no title: a study is named by its researcher and its data, and its id shortened.
 */
import { getJson } from '../api.js';
import { type Member, memberName } from '../context.js';
import { formatDate } from '../dom.js';
import { categoryNames, listWords } from '../words.js';

export interface StudyRelease {
  readonly manifestHash: string;
  readonly member: string;
  readonly consentBlock: string;
  readonly records: number;
  readonly suppressed: number;
  readonly contributors: number;
  readonly blockNumber: number;
  readonly txHash: string;
}

export interface StudyView {
  readonly id: string;
  /** Title and summary, checked by the node against the on-chain protocol hash; null if no member serves them. */
  readonly protocol: { readonly title: string; readonly summary: string } | null;
  readonly status: 'proposed' | 'approved' | 'open' | 'closed';
  readonly researcher: string;
  readonly protocolHash: string;
  readonly profileHash: string;
  readonly period: { readonly notBefore: string; readonly notAfter: string; readonly inPeriod: boolean };
  readonly k: number;
  readonly categories: readonly string[];
  readonly resourceTypes: readonly string[];
  readonly ethicsBoards: readonly string[];
  readonly approvals: { readonly by: readonly string[]; readonly needed: number | null };
  readonly closeVotes: number;
  readonly releases: readonly StudyRelease[];
  readonly join: {
    readonly grantee: string;
    readonly purpose: string;
    readonly categories: readonly string[];
    readonly generalResearchGrantee: string;
  };
  readonly patientWouldShare: {
    readonly categories: readonly { code: string; display: string }[];
    readonly resourceTypes: readonly string[];
    readonly form: string;
    readonly until: string;
  };
}

export async function loadStudies(): Promise<StudyView[]> {
  return (await getJson<{ studies: StudyView[] }>('/research/studies')).studies;
}

/** "Study 0x1a2b…9f0e": the id shortened, the same everywhere the portal names a study. */
export function studyLabel(id: string): string {
  return `Study ${id.slice(0, 6)}…${id.slice(-4)}`;
}

/** The protocol's title when the node could check it, else the shortened id; and who runs it. */
export function studyTitle(study: StudyView, members: readonly Member[]): string {
  return `${study.protocol?.title ?? studyLabel(study.id)} by ${memberName(study.researcher, members)}`;
}

export function studyPeriod(study: StudyView): string {
  return `${formatDate(study.period.notBefore)} to ${formatDate(study.period.notAfter)}`;
}

/** What a patient joining would share, in words. */
export function studyData(study: StudyView): string {
  return listWords(categoryNames([...study.categories]).map((c) => c.toLowerCase()));
}

export const STATUS_WORDS: Record<StudyView['status'], string> = {
  proposed: 'proposed, waiting for approval',
  approved: 'approved, not open yet',
  open: 'open',
  closed: 'closed',
};

/** Who decides a study: the ethics boards it names, else the members' majority. */
export function approvalWords(study: StudyView, members: readonly Member[]): string {
  const by = study.approvals.by.map((a) => memberName(a, members));
  const needed = study.approvals.needed ?? (study.ethicsBoards.length || null);
  const deciders =
    study.ethicsBoards.length > 0
      ? `ethics board${study.ethicsBoards.length > 1 ? 's' : ''} ${listWords(study.ethicsBoards.map((b) => memberName(b, members)))}`
      : 'a majority of the other members';
  return `${by.length}${needed === null ? '' : ` of ${needed}`} approvals (decided by ${deciders})${by.length > 0 ? `: ${listWords(by)}` : ''}`;
}
