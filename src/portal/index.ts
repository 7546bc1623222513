/**
 * The portal: a browser app for patients, clinicians and administrators, served by every node on the
 * same origin as its API (so the SMART redirect, the FHIR calls and the strict CSP all stay `'self'`).
 * The browser code lives in `src/portal/app/` and is bundled by `scripts/build-portal.ts` into
 * `dist/portal/public/`; this module only serves those files with the portal's security headers.
 */
export { createPortalRoutes, PORTAL_SECURITY_HEADERS, type PortalRouteDeps } from './portal-routes.js';
export { PORTAL_CLIENT_ID, registerPortalClient } from './register-portal-client.js';
