import { evalFhirPathTyped, getElementDefinition, toTypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { CareLedgerError } from '../../errors/index.js';
import { loadFhirDefinitions } from '../load-fhir-definitions.js';

/** One part of a FHIRPath Patch operation (R4 fhirpatch.html §2.29.1). */
interface Part {
  readonly name?: string;
  readonly part?: readonly Part[];
  readonly [key: string]: unknown;
}

interface Operation {
  readonly type: 'add' | 'insert' | 'delete' | 'replace' | 'move';
  readonly path: string;
  readonly name?: string;
  readonly value?: unknown;
  readonly index?: number;
  readonly source?: number;
  readonly destination?: number;
}

/** Where an element sits: `holder[key]`, or `holder[key][index]` for an element of a list. */
interface Location {
  readonly holder: Record<string, unknown>;
  readonly key: string;
  readonly index?: number;
}

const TYPES = new Set(['add', 'insert', 'delete', 'replace', 'move']);

function invalid(message: string, parameter: string): CareLedgerError {
  return new CareLedgerError('ERR_INVALID_INPUT', message, { details: { parameter } });
}

/** The `value[x]` of a part, or the anonymous element its sub-parts spell (R4 fhirpatch §2.29.1.1). */
function valueOfPart(part: Part): unknown {
  for (const [key, value] of Object.entries(part)) {
    if (key.startsWith('value') && key.length > 'value'.length) return value;
  }
  if (Array.isArray(part.part)) {
    const element: Record<string, unknown> = {};
    for (const child of part.part) {
      if (typeof child.name !== 'string') throw invalid('a value part needs a name', 'value');
      const value = valueOfPart(child);
      const existing = element[child.name];
      if (existing === undefined) element[child.name] = value;
      else element[child.name] = [...(Array.isArray(existing) ? existing : [existing]), value];
    }
    return element;
  }
  return undefined;
}

/** Reads the operations of a FHIRPath Patch `Parameters` resource; throws ERR_INVALID_INPUT. */
export function parseFhirPathPatch(body: unknown): Operation[] {
  const parameters = body as { resourceType?: unknown; parameter?: unknown };
  if (parameters?.resourceType !== 'Parameters' || !Array.isArray(parameters.parameter)) {
    throw invalid('a FHIRPath Patch is a Parameters resource with operation parameters', 'body');
  }
  return (parameters.parameter as Part[]).map((p, i) => {
    if (p.name !== 'operation' || !Array.isArray(p.part)) {
      throw invalid(`parameter ${i} is not an operation`, `Parameters.parameter[${i}]`);
    }
    const byName = new Map(p.part.map((part) => [part.name, part]));
    const type = byName.get('type')?.valueCode;
    const path = byName.get('path')?.valueString;
    if (typeof type !== 'string' || !TYPES.has(type)) {
      throw invalid(`operation ${i} has no valid type`, `Parameters.parameter[${i}].part.type`);
    }
    if (typeof path !== 'string' || path.trim() === '') {
      throw invalid(`operation ${i} has no path`, `Parameters.parameter[${i}].part.path`);
    }
    const integer = (name: string): number | undefined => {
      const value = byName.get(name)?.valueInteger;
      if (value === undefined) return undefined;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
        throw invalid(`operation ${i} has an invalid ${name}`, `Parameters.parameter[${i}].part.${name}`);
      }
      return value;
    };
    const valuePart = byName.get('value');
    const name = byName.get('name')?.valueString;
    return {
      type: type as Operation['type'],
      path,
      ...(typeof name === 'string' ? { name } : {}),
      ...(valuePart === undefined ? {} : { value: valueOfPart(valuePart) }),
      ...(integer('index') === undefined ? {} : { index: integer('index') }),
      ...(integer('source') === undefined ? {} : { source: integer('source') }),
      ...(integer('destination') === undefined ? {} : { destination: integer('destination') }),
    };
  });
}

/** Every object of the tree with where it sits, so an object found by FHIRPath can be located. */
function indexObjects(root: Record<string, unknown>): Map<object, Location> {
  const where = new Map<object, Location>();
  const walk = (holder: Record<string, unknown>) => {
    for (const [key, value] of Object.entries(holder)) {
      if (Array.isArray(value)) {
        value.forEach((item, index) => {
          if (item !== null && typeof item === 'object') {
            where.set(item, { holder, key, index });
            walk(item as Record<string, unknown>);
          }
        });
      } else if (value !== null && typeof value === 'object') {
        where.set(value, { holder, key });
        walk(value as Record<string, unknown>);
      }
    }
  };
  walk(root);
  return where;
}

function evaluate(resource: Resource, path: string): { value: unknown; type: string }[] {
  try {
    return evalFhirPathTyped(path, [toTypedValue(resource)], {
      '%resource': toTypedValue(resource),
    }).map((t) => ({ value: t.value, type: t.type }));
  } catch {
    throw invalid('the path is not a valid FHIRPath expression', 'path');
  }
}

/**
 * The places `path` selects. Objects are found by identity; primitives (which FHIRPath returns by
 * value) through the path's last step `.name` or `.name[i]` on the objects its parent selects.
 */
function locate(resource: Resource, path: string): Location[] {
  const results = evaluate(resource, path);
  if (results.length === 0) return [];
  const where = indexObjects(resource as unknown as Record<string, unknown>);
  if (results.every((r) => r.value !== null && typeof r.value === 'object')) {
    return results.map((r) => {
      const location = where.get(r.value as object);
      if (location === undefined) throw invalid('the path selects the resource itself', 'path');
      return location;
    });
  }
  const last = /^(.*)\.([A-Za-z][A-Za-z0-9_]*)(?:\[(\d+)\])?$/.exec(path.trim());
  if (last === null) throw invalid('the path selects a value that cannot be located', 'path');
  const [, parentPath = '', key = '', indexText] = last;
  const parents = evaluate(resource, parentPath).map((p) => p.value);
  const locations: Location[] = [];
  for (const parent of parents) {
    if (parent === null || typeof parent !== 'object') continue;
    const holder = parent as Record<string, unknown>;
    const value = holder[key];
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      if (indexText !== undefined) {
        if (Number(indexText) < value.length) locations.push({ holder, key, index: Number(indexText) });
      } else {
        for (let index = 0; index < value.length; index++) locations.push({ holder, key, index });
      }
    } else if (indexText === undefined || indexText === '0') locations.push({ holder, key });
  }
  if (locations.length !== results.length) {
    throw invalid('the path selects values that cannot be located', 'path');
  }
  return locations;
}

function one(locations: Location[], operation: string): Location {
  if (locations.length !== 1) {
    throw invalid(`the path of a ${operation} must select exactly one element`, 'path');
  }
  return locations[0] as Location;
}

function remove(location: Location): void {
  const current = location.holder[location.key];
  if (location.index !== undefined && Array.isArray(current)) {
    current.splice(location.index, 1);
    if (current.length === 0) delete location.holder[location.key];
  } else delete location.holder[location.key];
}

function listAt(resource: Resource, path: string): unknown[] {
  const locations = locate(resource, path);
  const first = locations[0];
  if (first === undefined) throw invalid('the path selects no list', 'path');
  const list = first.holder[first.key];
  if (!Array.isArray(list) || locations.some((l) => l.holder !== first.holder || l.key !== first.key)) {
    throw invalid('the path must select the elements of one list', 'path');
  }
  return list;
}

function applyOperation(resource: Resource, op: Operation): void {
  switch (op.type) {
    case 'add': {
      if (op.name === undefined || op.value === undefined)
        throw invalid('add needs a name and a value', 'name');
      const targets = evaluate(resource, op.path);
      const target = targets[0];
      if (
        targets.length !== 1 ||
        target === undefined ||
        typeof target.value !== 'object' ||
        target.value === null
      ) {
        throw invalid('the path of an add must select exactly one element', 'path');
      }
      const holder = target.value as Record<string, unknown>;
      const existing = holder[op.name];
      const isList = Array.isArray(existing) || getElementDefinition(target.type, op.name)?.isArray === true;
      if (isList) holder[op.name] = [...((existing as unknown[] | undefined) ?? []), op.value];
      else if (existing !== undefined) throw invalid(`${op.name} already has a value; use replace`, 'name');
      else holder[op.name] = op.value;
      return;
    }
    case 'insert': {
      if (op.index === undefined || op.value === undefined)
        throw invalid('insert needs an index and a value', 'index');
      const list = listAt(resource, op.path);
      if (op.index > list.length) throw invalid('insert index is past the end of the list', 'index');
      list.splice(op.index, 0, op.value);
      return;
    }
    case 'delete': {
      const locations = locate(resource, op.path);
      if (locations.length > 1) throw invalid('the path of a delete must select at most one element', 'path');
      if (locations[0] !== undefined) remove(locations[0]);
      return;
    }
    case 'replace': {
      if (op.value === undefined) throw invalid('replace needs a value', 'value');
      const location = one(locate(resource, op.path), 'replace');
      const current = location.holder[location.key];
      if (location.index !== undefined && Array.isArray(current)) current[location.index] = op.value;
      else location.holder[location.key] = op.value;
      return;
    }
    case 'move': {
      if (op.source === undefined || op.destination === undefined) {
        throw invalid('move needs a source and a destination', 'source');
      }
      const list = listAt(resource, op.path);
      if (op.source >= list.length || op.destination >= list.length) {
        throw invalid('move index is outside the list', 'source');
      }
      const [moved] = list.splice(op.source, 1);
      list.splice(op.destination, 0, moved);
      return;
    }
  }
}

/**
 * Applies a FHIRPath Patch (R4 fhirpatch.html) to a copy of `resource` and returns the copy; the
 * input is never changed, so a failing patch leaves nothing half-applied. Throws ERR_INVALID_INPUT for
 * a malformed patch and ERR_UNPROCESSABLE for one that does not fit the resource, naming the part at fault (never a value, which may be PHI).
 */
export function applyFhirPathPatch(resource: Resource, body: unknown): Resource {
  loadFhirDefinitions();
  const operations = parseFhirPathPatch(body);
  const copy = structuredClone(resource);
  operations.forEach((operation, i) => {
    try {
      applyOperation(copy, operation);
    } catch (error) {
      if (error instanceof CareLedgerError) {
        throw new CareLedgerError(
          'ERR_UNPROCESSABLE',
          `operation ${i} (${operation.type}): ${error.message}`,
          {
            details: { parameter: `Parameters.parameter[${i}]` },
          },
        );
      }
      throw error;
    }
  });
  return copy;
}
