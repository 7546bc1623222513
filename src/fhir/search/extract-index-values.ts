import { getElementDefinition, getSearchParameters, type TypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { evaluateSearchParam } from './extract-search-values.js';
import type { SearchParam } from './load-search-parameters.js';

/**
 * The values the blind index reads for one parameter of one resource: those of the parameter's
 * FHIRPath (evaluateSearchParam), found by walking the JSON directly when the R4 expression is a plain
 * path or a union of plain paths on this type (`Patient.name.family`, `Observation.code`: 1,847 of
 * the 2,014 token, reference, string and uri parameters), else by FHIRPath. Evaluating those paths
 * with FHIRPath was a third of a create's index extraction and a ninth of an import's (decision 0057).
 *
 * The walk gives what FHIRPath gives wherever it answers; where it cannot be sure it answers
 * undefined and FHIRPath decides: a primitive's extension (`_family`), which Medplum merges into the
 * value; a step the schema does not know, or a choice element (`value[x]`), whose JSON key carries the
 * type; an object value of a string parameter whose type the schema does not give (HumanName and
 * Address split into parts by type). `extract-index-values.test.ts` holds it equal to FHIRPath, value
 * by value as the extractors read them, on every parameter of the Synthea bundles and the R4 examples.
 */
export function extractIndexValues(resource: Resource, param: SearchParam): readonly TypedValue[] {
  const walk = walkOf(resource.resourceType, param);
  if (walk !== undefined) {
    const values = walk(resource);
    if (values !== undefined) return values;
  }
  return evaluateSearchParam(resource, param);
}

type Walk = (resource: Resource) => TypedValue[] | undefined;

interface Step {
  readonly name: string;
  /** The schema knows this element and it is no choice: a key that merely begins with it is another element. */
  readonly known: boolean;
}

interface Term {
  readonly steps: readonly Step[];
  /** The type the schema gives the last element, when it gives one. */
  readonly type: string | undefined;
}

const PLAIN_PATH = /^[A-Z][A-Za-z]*(?:\.[a-z][A-Za-z]*)+$/;
/** Compiled walks per `type\u001fcode`; null where FHIRPath must decide. Bounded by R4's parameters. */
const walks = new Map<string, Walk | null>();

function walkOf(resourceType: string, param: SearchParam): Walk | undefined {
  const key = `${resourceType}\u001f${param.code}`;
  let walk = walks.get(key);
  if (walk === undefined) {
    walk = compileWalk(resourceType, param);
    walks.set(key, walk);
  }
  return walk ?? undefined;
}

function compileWalk(resourceType: string, param: SearchParam): Walk | null {
  if (param.usesResolve) return null;
  const definition = (
    getSearchParameters(resourceType) as Record<string, { expression?: string }> | undefined
  )?.[param.code];
  const expression = definition?.expression;
  if (expression === undefined) return null;
  const terms = expression.split('|').map((term) => term.trim());
  if (!terms.every((term) => PLAIN_PATH.test(term))) return null;
  const own = terms.filter((term) => term.slice(0, term.indexOf('.')) === resourceType);
  if (own.length === 0) return null;
  const compiled: Term[] = [];
  for (const term of own) {
    const names = term.split('.').slice(1);
    const steps: Step[] = [];
    let type: string | undefined = resourceType;
    for (const name of names) {
      let known = false;
      if (type !== undefined) {
        const element = getElementDefinition(type, name);
        // Unknown to a known type, or a choice: FHIRPath (Medplum guesses types for both).
        if (element === undefined || element.path.endsWith('[x]')) return null;
        known = true;
        type = element.type.length === 1 ? element.type[0]?.code : undefined;
        if (type === 'Element' || type === 'BackboneElement') type = undefined;
      }
      steps.push({ name, known });
    }
    compiled.push({ steps, type });
  }
  const objectsNeedType = param.type === 'string';
  return (resource) => {
    const values: TypedValue[] = [];
    for (const term of compiled) {
      const found = walkTerm(resource, term.steps);
      if (found === undefined) return undefined;
      for (const value of found) {
        if (objectsNeedType && typeof value === 'object' && term.type === undefined) return undefined;
        values.push({ type: term.type ?? typeof value, value });
      }
    }
    return values;
  };
}

/** The values at the end of the steps, arrays flattened, as FHIRPath's path navigation yields them. */
function walkTerm(resource: Resource, steps: readonly Step[]): unknown[] | undefined {
  let current: unknown[] = [resource];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const item of current) {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) continue;
      const object = item as Record<string, unknown>;
      if (object[`_${step.name}`] !== undefined) return undefined;
      const value = object[step.name];
      if (value === undefined) {
        if (!step.known && hasTypedKey(object, step.name)) return undefined;
        continue;
      }
      if (Array.isArray(value)) {
        for (const element of value) if (element !== null && element !== undefined) next.push(element);
      } else if (value !== null && value !== '') {
        next.push(value);
      }
    }
    current = next;
  }
  return current;
}

/** A key like `valueQuantity` for the step `value`: a choice element the schema did not tell us of. */
function hasTypedKey(object: Record<string, unknown>, name: string): boolean {
  for (const key in object) {
    if (key.length > name.length && key.startsWith(name)) {
      const next = key.charCodeAt(name.length);
      if (next >= 65 && next <= 90) return true;
    }
  }
  return false;
}
