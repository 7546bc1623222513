import type { Resource } from '@medplum/fhirtypes';
import { DATA_CATEGORIES, type DataCategory } from '../ledger/index.js';
import { observationDataCategories } from './observation-categories.js';
import { RESOURCE_CATEGORIES } from './resource-categories.js';

/** HL7 v3 ActCode (confidentiality and sensitivity labels in `meta.security`). */
export const ACT_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

/** Sensitivity code (PSY, ETH, HIV, GDIS, SEX) → the ledger category a consent must name. */
const SENSITIVE_BY_CODE: ReadonlyMap<string, DataCategory> = new Map(
  (Object.entries(DATA_CATEGORIES) as [DataCategory, { sensitivityCode?: string }][])
    .filter(([, info]) => info.sensitivityCode !== undefined)
    .map(([name, info]) => [info.sensitivityCode as string, name]),
);

export const SENSITIVE_CATEGORIES: ReadonlySet<DataCategory> = new Set(SENSITIVE_BY_CODE.values());

/** The ledger category of a v3 ActCode sensitivity code (PSY, ETH, HIV, GDIS, SEX), or undefined. */
export function sensitiveCategoryOf(code: string | undefined): DataCategory | undefined {
  return SENSITIVE_BY_CODE.get(code ?? '');
}

function codesOf(resource: Resource, field: string): string[] {
  const value = (resource as unknown as Record<string, unknown>)[field];
  const concepts = (Array.isArray(value) ? value : [value]) as { coding?: { code?: string }[] }[];
  return concepts.flatMap((c) => (c?.coding ?? []).map((coding) => coding.code ?? ''));
}

/**
 * The ledger data categories a resource falls in: one from its type (RESOURCE_CATEGORIES, the table
 * of all R4 types; Observation by its category, decision 0049: vital signs, laboratory, imaging,
 * procedures, or clinical notes for social history, surveys and exams; DiagnosticReport: imaging
 * for radiology, else laboratory), plus one per
 * sensitivity label in `meta.security` (v3 ActCode PSY, ETH, HIV, GDIS, SEX). A consent must cover
 * every category of a resource for the resource to be shared, so labelling a note HIV keeps it out of
 * a grant for clinical notes alone. An empty list means directory data (Organization, Practitioner…),
 * unless a sensitivity label gives it a category. Contained resources (R4 §3.3 `contained`) are served
 * inside their container, so their categories and labels are the container's too: an HIV-labelled
 * Condition contained in a laboratory Observation does not ride on a laboratory grant.
 */
export function categorizeResource(resource: Resource): DataCategory[] {
  const categories = new Set<DataCategory>(ownCategories(resource));
  const contained = (resource as { contained?: unknown }).contained;
  if (Array.isArray(contained)) {
    for (const inner of contained) {
      // R4 forbids contained resources inside contained ones; only the container's own list counts.
      if (typeof inner === 'object' && inner !== null && typeof (inner as Resource).resourceType === 'string')
        for (const category of ownCategories(inner as Resource)) categories.add(category);
    }
  }
  return [...categories];
}

function ownCategories(resource: Resource): DataCategory[] {
  const categories = new Set<DataCategory>();
  const type = resource.resourceType;
  if (type === 'Observation') {
    for (const category of observationDataCategories(codesOf(resource, 'category'))) categories.add(category);
  } else if (type === 'DiagnosticReport') {
    const codes = codesOf(resource, 'category');
    categories.add(codes.includes('RAD') || codes.includes('imaging') ? 'imaging' : 'laboratory');
  } else {
    // A type that is no R4 type is treated as a clinical note: never shared under a narrower grant.
    const category = Object.hasOwn(RESOURCE_CATEGORIES, type)
      ? RESOURCE_CATEGORIES[type as keyof typeof RESOURCE_CATEGORIES]
      : 'clinical-notes';
    if (category !== null && category !== 'by-content') categories.add(category);
  }
  for (const label of resource.meta?.security ?? []) {
    if (label.system !== undefined && label.system !== ACT_CODE_SYSTEM) continue;
    const sensitive = sensitiveCategoryOf(label.code);
    if (sensitive !== undefined) categories.add(sensitive);
  }
  return [...categories];
}
