import type { Resource } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import { CareLedgerError } from '../../errors/index.js';
import { GENERAL_RESEARCH_ADDRESS, studyGrantee } from '../study.js';
import { suppressSmallCells } from './suppress-small-cells.js';

/** Age bands of ten years; 90 and over is one band (HIPAA Safe Harbor groups ages over 89). */
export const AGE_BANDS = [
  '0-9',
  '10-19',
  '20-29',
  '30-39',
  '40-49',
  '50-59',
  '60-69',
  '70-79',
  '80-89',
  '90+',
] as const;
export type AgeBand = (typeof AGE_BANDS)[number];

export const SEXES = ['female', 'male', 'other', 'unknown'] as const;
export type Sex = (typeof SEXES)[number];

/** A feasibility question: simple criteria, and what to break the count down by. */
export interface FeasibilityQuery {
  /** Count patients with a resource of this type (and code, `system|code` as in FHIR token search). */
  readonly resourceType?: string;
  readonly code?: string;
  readonly sex?: Sex;
  readonly ageBand?: AgeBand;
  readonly groupBy: readonly ('sex' | 'ageBand')[];
  /** Cells below k are suppressed. */
  readonly k: number;
  /** Count the patients who joined this study as well as those who joined research in general. */
  readonly studyId?: Hex;
}

export interface FeasibilityCell {
  readonly sex?: Sex;
  readonly ageBand?: AgeBand;
  /** Null when suppressed (fewer than k patients, but at least one). */
  readonly count: number | null;
}

export interface FeasibilityAnswer {
  readonly k: number;
  /** Null when below k. */
  readonly total: number | null;
  readonly cells: readonly FeasibilityCell[];
}

/** Every match of a FHIR search, read as the research grantee (through the vault's gateway). */
export type ResearchSearch = (
  grantee: Address,
  resourceType: string,
  query: URLSearchParams,
) => Promise<readonly Resource[]>;

const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;
const TOKEN = /^[^\s|]{0,200}\|?[^\s|]{1,100}$/;

/** Parses a feasibility request body; anything else is ERR_INVALID_INPUT with the field. */
export function parseFeasibilityQuery(body: Record<string, unknown>, minimumK: number): FeasibilityQuery {
  const invalid = (field: string, message: string) =>
    new CareLedgerError('ERR_INVALID_INPUT', message, { details: { field } });
  const { resourceType, code, sex, ageBand, groupBy, k, studyId } = body;
  if (resourceType !== undefined && (typeof resourceType !== 'string' || !RESOURCE_TYPE.test(resourceType)))
    throw invalid('resourceType', 'resourceType must be a FHIR resource type');
  if (code !== undefined) {
    if (resourceType === undefined) throw invalid('code', 'a code needs a resourceType');
    if (typeof code !== 'string' || !TOKEN.test(code)) throw invalid('code', 'code must be system|code');
  }
  if (sex !== undefined && !(SEXES as readonly unknown[]).includes(sex))
    throw invalid('sex', `sex must be one of ${SEXES.join(', ')}`);
  if (ageBand !== undefined && !(AGE_BANDS as readonly unknown[]).includes(ageBand))
    throw invalid('ageBand', `ageBand must be one of ${AGE_BANDS.join(', ')}`);
  const groups = groupBy ?? [];
  if (!Array.isArray(groups) || groups.some((g) => g !== 'sex' && g !== 'ageBand'))
    throw invalid('groupBy', 'groupBy lists sex and/or ageBand');
  if (k !== undefined && (!Number.isSafeInteger(k) || (k as number) < minimumK))
    throw invalid('k', `k must be an integer of at least ${minimumK}`);
  if (studyId !== undefined && (typeof studyId !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(studyId)))
    throw invalid('studyId', 'studyId must be 32 bytes of hex');
  return {
    ...(resourceType === undefined ? {} : { resourceType: resourceType as string }),
    ...(code === undefined ? {} : { code: code as string }),
    ...(sex === undefined ? {} : { sex: sex as Sex }),
    ...(ageBand === undefined ? {} : { ageBand: ageBand as AgeBand }),
    groupBy: [...new Set(groups as ('sex' | 'ageBand')[])],
    k: (k as number | undefined) ?? minimumK,
    ...(studyId === undefined ? {} : { studyId: (studyId as string).toLowerCase() as Hex }),
  };
}

export function ageBandOf(birthDate: string | undefined, today: Date): AgeBand | undefined {
  const match = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(birthDate ?? '');
  if (match === null) return undefined;
  const [year, month = 1, day = 1] = [Number(match[1]), Number(match[2] ?? 1), Number(match[3] ?? 1)];
  let age = today.getUTCFullYear() - year;
  if (today.getUTCMonth() + 1 < month || (today.getUTCMonth() + 1 === month && today.getUTCDate() < day))
    age -= 1;
  if (age < 0) return undefined;
  return AGE_BANDS[Math.min(9, Math.floor(age / 10))];
}

function sexOf(gender: string | undefined): Sex {
  return gender === 'female' || gender === 'male' || gender === 'other' ? gender : 'unknown';
}

/** The patient a resource belongs to: itself, or its subject / patient reference. */
function patientIdOf(resource: Resource): string | undefined {
  if (resource.resourceType === 'Patient') return resource.id;
  const r = resource as { subject?: { reference?: string }; patient?: { reference?: string } };
  const reference = r.subject?.reference ?? r.patient?.reference;
  return reference?.startsWith('Patient/') === true ? reference.slice('Patient/'.length) : undefined;
}

/**
 * Counts the local patients matching simple criteria, among those who joined research (in general,
 * or the named study): decision 0024. The vault is read as the research grantee, so each search is
 * consent-checked and audited like any other, and only patients whose grant covers the categories read
 * (demographics for sex and age, the resource's category for the criterion) are counted. Cells with
 * fewer than k patients are suppressed, and complementary cells with them so the total cannot give
 * them back (suppress-small-cells.ts); empty cells are left out; nothing but counts is returned.
 */
export async function evaluateFeasibility(
  search: ResearchSearch,
  query: FeasibilityQuery,
  today: Date,
): Promise<FeasibilityAnswer> {
  const grantees: Address[] = [GENERAL_RESEARCH_ADDRESS];
  if (query.studyId !== undefined) grantees.push(studyGrantee(query.studyId));
  const readAll = async (resourceType: string, params: Record<string, string>) => {
    const found: Resource[] = [];
    for (const grantee of grantees)
      found.push(...(await search(grantee, resourceType, new URLSearchParams(params))));
    return found;
  };
  let withCriterion: Set<string> | undefined;
  if (query.resourceType !== undefined && query.resourceType !== 'Patient') {
    const matches = await readAll(query.resourceType, query.code === undefined ? {} : { code: query.code });
    withCriterion = new Set(matches.map(patientIdOf).filter((id): id is string => id !== undefined));
  }
  const patients = new Map<string, { sex: Sex; ageBand: AgeBand | undefined }>();
  for (const patient of await readAll('Patient', query.sex === undefined ? {} : { gender: query.sex })) {
    const p = patient as { id?: string; gender?: string; birthDate?: string };
    if (p.id === undefined || (withCriterion !== undefined && !withCriterion.has(p.id))) continue;
    const ageBand = ageBandOf(p.birthDate, today);
    if (query.ageBand !== undefined && ageBand !== query.ageBand) continue;
    patients.set(p.id, { sex: sexOf(p.gender), ageBand });
  }
  const cells = new Map<string, { sex?: Sex; ageBand?: AgeBand; count: number }>();
  for (const { sex, ageBand } of patients.values()) {
    const cell = {
      ...(query.groupBy.includes('sex') ? { sex } : {}),
      ...(query.groupBy.includes('ageBand') ? { ageBand: ageBand ?? ('unknown' as AgeBand) } : {}),
    };
    const key = JSON.stringify(cell);
    const known = cells.get(key) ?? { ...cell, count: 0 };
    known.count += 1;
    cells.set(key, known);
  }
  const table = suppressSmallCells([...cells.values()], patients.size, query.k);
  return { k: query.k, total: table.total, cells: query.groupBy.length === 0 ? [] : table.cells };
}
