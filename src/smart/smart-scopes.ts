/**
 * SMART App Launch 2.x scopes (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html):
 * parsing, formatting, deciding a FHIR interaction against granted scopes, and narrowing a request to
 * what may be granted. Scopes only say which kinds of resources a token may touch; confining
 * `patient/` scopes to the patient in context (its compartment) is the caller's job.
 */
import { CareLedgerError } from '../errors/index.js';

export const SCOPE_CONTEXTS = ['patient', 'user', 'system'] as const;
export type ScopeContext = (typeof SCOPE_CONTEXTS)[number];

/** In the one order SMART 2.x ("Clinical Scope Syntax") lets them appear: c, r, u, d, s. */
export const SCOPE_PERMISSIONS = ['c', 'r', 'u', 'd', 's'] as const;
export type ScopePermission = (typeof SCOPE_PERMISSIONS)[number];

/** Scopes for identity, launch context and refresh tokens (SMART 2.x "Scopes for requesting ..."). */
export const NAMED_SCOPES = [
  'openid',
  'fhirUser',
  'profile',
  'launch',
  'launch/patient',
  'launch/encounter',
  'offline_access',
  'online_access',
] as const;
export type NamedScopeName = (typeof NAMED_SCOPES)[number];

/**
 * Search parameters limiting a resource scope, as `[name, value]` pairs that all must hold; a comma in a
 * value separates alternatives (FHIR R4 search.html#combining). Values are compared as written, not
 * percent-decoded, so an encoded value can only narrow a scope.
 */
export type ScopeQuery = readonly (readonly [name: string, value: string])[];

export interface ResourceScope {
  kind: 'resource';
  context: ScopeContext;
  /** A FHIR resource type name, or `*` for all. */
  resourceType: string;
  /** Non-empty, in `SCOPE_PERMISSIONS` order. */
  permissions: readonly ScopePermission[];
  /** Empty when the scope is not query-limited. */
  query: ScopeQuery;
  /** How to write it back: a v1 client that asked for `.read` expects `.read` in the grant. */
  syntax: 'v1' | 'v2';
}

export interface NamedScope {
  kind: 'named';
  name: NamedScopeName;
}

/** A well-formed scope this module does not know; a server drops it when granting. */
export interface OtherScope {
  kind: 'other';
  text: string;
}

export type Scope = ResourceScope | NamedScope | OtherScope;

export interface ScopeRequest {
  context: ScopeContext;
  resourceType: string;
  interaction: ScopePermission;
  /** The FHIR resource JSON read, created, updated or deleted; needed for query-limited scopes. */
  resource?: unknown;
}

export const SCOPE_DENIAL_REASONS = [
  'invalid-request',
  'no-matching-scope',
  'resource-required',
  'query-not-satisfied',
  'unsupported-query',
] as const;
export type ScopeDenialReason = (typeof SCOPE_DENIAL_REASONS)[number];

export type ScopeDecision = { allowed: true } | { allowed: false; reason: ScopeDenialReason };

export interface ScopeFilter {
  /** Whether any scope permits the interaction at all. */
  allowed: boolean;
  /** A scope without a query permits it: every resource of the type passes. */
  unrestricted: boolean;
  /** The query-limited scopes that apply; a resource passes when it satisfies any one of them. */
  queries: readonly ScopeQuery[];
  /** Whether a result resource of the requested type may be returned. */
  matches(resource: unknown): boolean;
}

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), tokens separated by spaces.
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const RESOURCE_SCOPE = /^(patient|user|system)\/([^.?]*)\.([^?]*)(?:\?(.*))?$/;
// FHIR R4 resource type names are ASCII letters starting upper-case.
const RESOURCE_TYPE = /^[A-Z][A-Za-z]{0,63}$/;
const V2_PERMISSIONS = /^c?r?u?d?s?$/;
const QUERY_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;

// SMART 2.x "Scope Equivalence": v1 `.read` is `.rs`, `.write` is `.cud`, `.*` is `.cruds`.
const V1_PERMISSIONS: Readonly<Record<string, readonly ScopePermission[]>> = {
  read: ['r', 's'],
  write: ['c', 'u', 'd'],
  '*': ['c', 'r', 'u', 'd', 's'],
};

// The search parameters a resource can be checked against here. Anything else fails closed:
// a scope limited by a parameter we cannot evaluate grants nothing.
const SUPPORTED_QUERY_PARAMETERS = new Set(['category']);

/**
 * A space-separated `scope` parameter (RFC 6749 §3.3), in order, without duplicates. Throws
 * `ERR_INVALID_INPUT` (OAuth `invalid_scope`) with `details.index` naming the offending token.
 */
export function parseScopes(text: string): Scope[] {
  if (typeof text !== 'string') invalid('scopes must be a string', 'not-a-string');
  const scopes: Scope[] = [];
  const seen = new Set<string>();
  const tokens = text.split(' ').filter((token) => token !== '');
  for (const [index, token] of tokens.entries()) {
    const scope = parseScope(token, index);
    const key = formatScope(scope);
    if (!seen.has(key)) {
      seen.add(key);
      scopes.push(scope);
    }
  }
  return scopes;
}

/** One scope token. Throws for tokens that are malformed, including ones that look like resource scopes. */
export function parseScope(token: string, index = 0): Scope {
  if (typeof token !== 'string' || !SCOPE_TOKEN.test(token)) {
    invalid('invalid scope characters', 'invalid-characters', index);
  }
  if ((NAMED_SCOPES as readonly string[]).includes(token))
    return { kind: 'named', name: token as NamedScopeName };
  if (!/^(patient|user|system)\//.test(token)) return { kind: 'other', text: token };

  const match = RESOURCE_SCOPE.exec(token);
  if (match === null) invalid('malformed resource scope', 'malformed-resource-scope', index);
  const [, context, resourceType = '', permissionText = '', queryText] = match;
  if (resourceType !== '*' && !RESOURCE_TYPE.test(resourceType)) {
    invalid('malformed resource type in scope', 'malformed-resource-scope', index);
  }
  let permissions: readonly ScopePermission[];
  let syntax: ResourceScope['syntax'];
  const v1 = Object.hasOwn(V1_PERMISSIONS, permissionText) ? V1_PERMISSIONS[permissionText] : undefined;
  if (v1 !== undefined) {
    permissions = v1;
    syntax = 'v1';
  } else if (permissionText !== '' && V2_PERMISSIONS.test(permissionText)) {
    permissions = [...permissionText] as ScopePermission[];
    syntax = 'v2';
  } else if (/^[cruds]+$/.test(permissionText)) {
    // SMART 2.x "Clinical Scope Syntax": each letter at most once and in `cruds` order, so one set of
    // permissions has one spelling (`.sr` is not `.rs`).
    invalid('scope permissions out of cruds order', 'permissions-order', index);
  } else {
    invalid('unknown scope permissions', 'malformed-permissions', index);
  }
  let query: ScopeQuery = [];
  if (queryText !== undefined) {
    // Query limits are a SMART 2.x feature ("Finer-grained resource constraints using search
    // parameters"); a v1 suffix with one is a confused request, refused rather than guessed at.
    if (syntax === 'v1') invalid('v1 scopes take no query', 'malformed-query', index);
    query = parseQuery(queryText, index);
  }
  return { kind: 'resource', context: context as ScopeContext, resourceType, permissions, query, syntax };
}

export function formatScope(scope: Scope): string {
  if (scope.kind === 'named') return scope.name;
  if (scope.kind === 'other') return scope.text;
  const letters = SCOPE_PERMISSIONS.filter((p) => scope.permissions.includes(p)).join('');
  const v1 = scope.syntax === 'v1' && scope.query.length === 0 ? v1Spelling(letters) : undefined;
  const query = scope.query.length === 0 ? '' : `?${scope.query.map(([n, v]) => `${n}=${v}`).join('&')}`;
  return `${scope.context}/${scope.resourceType}.${v1 ?? letters}${query}`;
}

export function formatScopes(scopes: readonly Scope[]): string {
  return scopes.map(formatScope).join(' ');
}

/**
 * Whether `scopes` permit one FHIR interaction. A query-limited scope permits reads, creates, updates
 * and deletes only of a `resource` that satisfies its query; it permits searches, but then every
 * result must pass `createScopeFilter(...).matches`.
 */
export function evaluateScopes(scopes: readonly Scope[], request: ScopeRequest): ScopeDecision {
  if (!isValidRequest(request)) return { allowed: false, reason: 'invalid-request' };
  let reason: ScopeDenialReason = 'no-matching-scope';
  for (const scope of applicableScopes(scopes, request)) {
    if (scope.query.length === 0) return { allowed: true };
    if (!isQuerySupported(scope.query)) {
      reason = 'unsupported-query';
    } else if (request.interaction === 's') {
      return { allowed: true };
    } else if (request.resource === undefined) {
      if (reason !== 'query-not-satisfied') reason = 'resource-required';
    } else if (matchesQuery(scope.query, request.resource, request.resourceType)) {
      return { allowed: true };
    } else {
      reason = 'query-not-satisfied';
    }
  }
  return { allowed: false, reason };
}

/**
 * What a caller must check on each result of an interaction (typically a search) allowed by
 * `evaluateScopes`. Resources of other types in the same response (`_include`) need their own
 * `evaluateScopes` read decision.
 */
export function createScopeFilter(
  scopes: readonly Scope[],
  request: Omit<ScopeRequest, 'resource'>,
): ScopeFilter {
  const applicable = isValidRequest(request) ? applicableScopes(scopes, request) : [];
  const unrestricted = applicable.some((scope) => scope.query.length === 0);
  const queries = unrestricted
    ? []
    : applicable.map((scope) => scope.query).filter((query) => isQuerySupported(query));
  const resourceType = request.resourceType;
  return {
    allowed: unrestricted || queries.length > 0,
    unrestricted,
    queries,
    matches(resource: unknown): boolean {
      if (!isRecord(resource) || resource.resourceType !== resourceType) return false;
      return unrestricted || queries.some((query) => matchesQuery(query, resource, resourceType));
    },
  };
}

/**
 * Whether `granted` covers every scope in `requested`, as a refresh request must (RFC 6749 §6: the
 * new scope "MUST NOT include any scope not originally granted"). A resource scope is covered by one
 * with the same context, the same or wildcard type, a superset of its permissions and a query no wider.
 */
export function isScopeSubset(requested: readonly Scope[], granted: readonly Scope[]): boolean {
  return requested.every((scope) => granted.some((by) => covers(by, scope)));
}

/**
 * The scopes to grant for a request, given what the user (or client) may have (RFC 6749 §3.3: the
 * server may grant less than asked). Resource scopes are intersected (`patient/*.rs` against
 * `patient/Observation.r` gives `patient/Observation.r`); others pass only if allowed as they are.
 */
export function narrowScopes(requested: readonly Scope[], allowedForUser: readonly Scope[]): Scope[] {
  const candidates: Scope[] = [];
  for (const scope of requested) {
    if (scope.kind !== 'resource') {
      if (allowedForUser.some((by) => covers(by, scope))) candidates.push(scope);
      continue;
    }
    for (const allowed of allowedForUser) {
      if (allowed.kind !== 'resource') continue;
      const both = intersect(scope, allowed);
      if (both !== undefined) candidates.push(both);
    }
  }
  // Drop duplicates and scopes another kept scope already covers, so the grant reads as asked.
  const kept: Scope[] = [];
  for (const [i, scope] of candidates.entries()) {
    const others = [...kept, ...candidates.slice(i + 1)];
    if (!others.some((other) => covers(other, scope))) kept.push(scope);
  }
  return kept;
}

function applicableScopes(
  scopes: readonly Scope[],
  request: Omit<ScopeRequest, 'resource'>,
): ResourceScope[] {
  // SMART 2.x "Clinical Scope Syntax": the context prefix is part of the grant, so a `patient/` scope
  // says nothing about a `user/` or `system/` request.
  return scopes.filter(
    (scope): scope is ResourceScope =>
      scope.kind === 'resource' &&
      scope.context === request.context &&
      (scope.resourceType === '*' || scope.resourceType === request.resourceType) &&
      scope.permissions.includes(request.interaction),
  );
}

function isValidRequest(request: Omit<ScopeRequest, 'resource'>): boolean {
  return (
    isRecord(request) &&
    (SCOPE_CONTEXTS as readonly unknown[]).includes(request.context) &&
    typeof request.resourceType === 'string' &&
    RESOURCE_TYPE.test(request.resourceType) &&
    (SCOPE_PERMISSIONS as readonly unknown[]).includes(request.interaction)
  );
}

function covers(by: Scope, scope: Scope): boolean {
  if (by.kind === 'named') return scope.kind === 'named' && scope.name === by.name;
  if (by.kind === 'other') return scope.kind === 'other' && scope.text === by.text;
  return (
    scope.kind === 'resource' &&
    scope.context === by.context &&
    (by.resourceType === '*' || by.resourceType === scope.resourceType) &&
    scope.permissions.every((p) => by.permissions.includes(p)) &&
    isQueryNoWider(scope.query, by.query)
  );
}

/** A query is no wider than another when, for each of the other's parameters, it has one as narrow. */
function isQueryNoWider(query: ScopeQuery, than: ScopeQuery): boolean {
  return than.every(([name, value]) =>
    query.some(([otherName, otherValue]) => otherName === name && isValueNoWider(name, otherValue, value)),
  );
}

function isValueNoWider(name: string, value: string, than: string): boolean {
  if (value === than) return true;
  if (!SUPPORTED_QUERY_PARAMETERS.has(name)) return false;
  // Token values: each alternative of `value` must be within some alternative of `than`.
  const wider = than.split(',').map(parseToken);
  return value
    .split(',')
    .map(parseToken)
    .every((token) => wider.some((w) => isTokenWithin(token, w)));
}

function intersect(requested: ResourceScope, allowed: ResourceScope): ResourceScope | undefined {
  if (requested.context !== allowed.context) return undefined;
  let resourceType: string;
  if (requested.resourceType === '*') resourceType = allowed.resourceType;
  else if (allowed.resourceType === '*' || allowed.resourceType === requested.resourceType) {
    resourceType = requested.resourceType;
  } else return undefined;
  const permissions = SCOPE_PERMISSIONS.filter(
    (p) => requested.permissions.includes(p) && allowed.permissions.includes(p),
  );
  if (permissions.length === 0) return undefined;
  let query: ScopeQuery;
  if (isQueryNoWider(requested.query, allowed.query)) query = requested.query;
  else if (isQueryNoWider(allowed.query, requested.query)) query = allowed.query;
  else {
    // Both limits apply: the conjunction of the two queries.
    query = [...requested.query];
    for (const pair of allowed.query) {
      if (!query.some(([n, v]) => n === pair[0] && v === pair[1])) query = [...query, pair];
    }
  }
  const syntax = query.length === 0 ? requested.syntax : 'v2';
  return { kind: 'resource', context: requested.context, resourceType, permissions, query, syntax };
}

function parseQuery(text: string, index: number): ScopeQuery {
  const query: [string, string][] = [];
  for (const part of text.split('&')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? '' : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    if (!QUERY_NAME.test(name) || value === '') invalid('malformed scope query', 'malformed-query', index);
    if (SUPPORTED_QUERY_PARAMETERS.has(name) && value.split(',').some((t) => t === '' || t === '|')) {
      invalid('malformed token in scope query', 'malformed-query', index);
    }
    query.push([name, value]);
  }
  return query;
}

function isQuerySupported(query: ScopeQuery): boolean {
  return query.every(([name]) => SUPPORTED_QUERY_PARAMETERS.has(name));
}

function matchesQuery(query: ScopeQuery, resource: unknown, resourceType: string): boolean {
  if (!isRecord(resource) || resource.resourceType !== resourceType) return false;
  return query.every(([name, value]) => {
    const tokens = value.split(',').map(parseToken);
    const codings = codingsOf(resource[name]);
    return tokens.some((token) => codings.some((coding) => tokenMatches(token, coding)));
  });
}

/** `undefined` matches anything; `null` system means "no system" (the `|code` form). */
interface Token {
  system: string | null | undefined;
  code: string | undefined;
}

// FHIR R4 search.html#token: `code` is any system; `system|code`; `|code` is no system;
// `system|` is any code in the system.
function parseToken(text: string): Token {
  const bar = text.indexOf('|');
  if (bar < 0) return { system: undefined, code: text };
  const system = text.slice(0, bar);
  const code = text.slice(bar + 1);
  return { system: system === '' ? null : system, code: code === '' ? undefined : code };
}

function isTokenWithin(token: Token, wider: Token): boolean {
  return (
    (wider.system === undefined || wider.system === token.system) &&
    (wider.code === undefined || wider.code === token.code)
  );
}

interface Coding {
  system?: unknown;
  code?: unknown;
}

function tokenMatches(token: Token, coding: Coding): boolean {
  const systemOk =
    token.system === undefined ||
    (token.system === null ? coding.system === undefined : coding.system === token.system);
  return systemOk && (token.code === undefined || coding.code === token.code);
}

/**
 * The codings of an element such as `category`: CodeableConcept or an array of them (Observation,
 * Condition, DocumentReference), or a bare `code` (AllergyIntolerance), taken as a coding with no system.
 */
function codingsOf(element: unknown): Coding[] {
  const items = Array.isArray(element) ? element : element === undefined ? [] : [element];
  const codings: Coding[] = [];
  for (const item of items) {
    if (typeof item === 'string') codings.push({ code: item });
    else if (isRecord(item) && Array.isArray(item.coding)) {
      for (const coding of item.coding) if (isRecord(coding)) codings.push(coding);
    }
  }
  return codings;
}

function v1Spelling(letters: string): string | undefined {
  for (const [spelling, permissions] of Object.entries(V1_PERMISSIONS)) {
    if (permissions.join('') === letters) return spelling;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string, reason: string, index?: number): never {
  throw new CareLedgerError('ERR_INVALID_INPUT', message, {
    details: index === undefined ? { reason } : { reason, index },
  });
}
