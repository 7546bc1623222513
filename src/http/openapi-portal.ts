/**
 * The OpenAPI description of the portal, kept out of openapi.ts (which assembles the
 * document: the order of its spreads is the order of the published paths).
 */
import { errors } from './openapi-helpers.js';
import type { PathItem } from './openapi-types.js';

/** The portal: the single-page app, its assets and its API. */
export function portalPaths(): Record<string, PathItem> {
  return {
    '/': {
      get: {
        operationId: 'root',
        summary: 'Redirects to the portal',
        tags: ['portal'],
        responses: { '302': { description: 'Location: /portal/' } },
      },
    },
    '/portal': {
      get: {
        operationId: 'portalPage',
        summary: 'The patient, clinician and administrator web portal (one page; strict CSP)',
        tags: ['portal'],
        responses: {
          '200': {
            description: 'The portal page.',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
          '503': { description: 'The portal bundle is not built (run npm run build).' },
        },
      },
    },
    '/portal/*': {
      get: {
        operationId: 'portalDeepLink',
        summary: 'A portal page by path (the same single page), or 404',
        tags: ['portal'],
        description:
          'Any path under /portal/ ending in / or /index.html serves the page; anything else is 404.',
        responses: {
          '200': {
            description: 'The portal page.',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
          ...errors('NotFound'),
        },
      },
    },
    '/portal/assets/{file}': {
      get: {
        operationId: 'portalAsset',
        summary: "The portal's content-hashed scripts and styles (cached forever)",
        tags: ['portal'],
        parameters: [
          { name: 'file', in: 'path', required: true, schema: { type: 'string' }, example: 'portal-0000.js' },
        ],
        responses: {
          '200': {
            description: 'The asset.',
            content: { 'text/javascript': { schema: { type: 'string' } } },
          },
          ...errors('NotFound'),
        },
      },
    },
    '/portal/api/consent-nonce': {
      get: {
        operationId: 'consentNonce',
        summary: "A patient's next consent nonce on ConsentRegistry (what the browser signs next)",
        tags: ['portal'],
        parameters: [{ name: 'patient', in: 'query', required: true, schema: { type: 'string' } }],
        responses: {
          '200': {
            description: '{ patient, nonce } (nonce as a decimal string)',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('BadRequest', 'Unavailable'),
        },
      },
    },
  };
}
