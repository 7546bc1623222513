/**
 * Scopes for what is not one FHIR interaction but opens many: a telehealth share (its reader sees every
 * record of the shared categories) and the patient's consent keystore (the key that signs every grant).
 * A SMART app launched with `patient/Observation.rs` must not create a share of the whole record, nor
 * fetch or replace the keystore: such an act needs a token that could already do all it leads to
 * (SMART App Launch 2.x §"Scopes": an app gets at most what its scopes grant).
 */
import type { AccessContext } from '../audit/create-audit-event.js';
import { CareLedgerError } from '../errors/index.js';
import {
  createScopeFilter,
  type ResourceScope,
  type ScopeContext,
  type ScopePermission,
} from './smart-scopes.js';

/** The contexts a patient's token acts in for their own record (user always; patient for their own). */
function contextsOf(context: AccessContext): ScopeContext[] {
  const kind = context.who.split('/')[0];
  if (kind === 'Organization' || kind === 'Device') return ['system'];
  const own =
    context.launchPatient ?? (kind === 'Patient' ? context.who.slice('Patient/'.length) : undefined);
  return own === undefined ? ['user'] : ['user', 'patient'];
}

function insufficient(what: string, missing: string): CareLedgerError {
  return new CareLedgerError('ERR_FORBIDDEN', `insufficient scope: ${what} needs ${missing}`, {
    details: { reason: `insufficient scope: ${what} needs ${missing}`, oauth: 'insufficient_scope' },
  });
}

/**
 * Throws 403 `insufficient_scope` unless the token may read and search every resource of `types` without
 * a query limit (a request without a token, the development header, has no scopes to bound it).
 */
export function verifyScopesReadTypes(context: AccessContext, types: readonly string[], what: string): void {
  const scopes = context.scopes;
  if (scopes === undefined) return;
  const contexts = contextsOf(context);
  for (const resourceType of types) {
    for (const interaction of ['r', 's'] as const) {
      const unrestricted = contexts.some(
        (scopeContext) =>
          createScopeFilter(scopes, { context: scopeContext, resourceType, interaction }).unrestricted,
      );
      if (!unrestricted)
        throw insufficient(what, `${interaction === 'r' ? 'read' : 'search'} of ${resourceType}`);
    }
  }
}

/**
 * Throws 403 `insufficient_scope` unless one scope covers every resource type (`*`) with all of
 * `permissions` and no query: the whole record, as the portal's own session has.
 */
export function verifyWholeRecordScope(
  context: AccessContext,
  permissions: readonly ScopePermission[],
  what: string,
): void {
  const scopes = context.scopes;
  if (scopes === undefined) return;
  const contexts = contextsOf(context);
  const whole = scopes.some(
    (scope): scope is ResourceScope =>
      scope.kind === 'resource' &&
      contexts.includes(scope.context) &&
      scope.resourceType === '*' &&
      scope.query.length === 0 &&
      permissions.every((p) => scope.permissions.includes(p)),
  );
  if (!whole) throw insufficient(what, `a scope over the whole record (*.${permissions.join('')})`);
}
