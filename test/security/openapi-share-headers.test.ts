/**
 * Security review F14: the OpenAPI description said the share viewing routes take
 * `Authorization: Bearer <viewing session>`, while they read `X-Share-Link` and `X-Share-Session`
 * (a Bearer answers 410 "this share has ended or the link is not valid", which misleads an
 * integrator). The served document names the headers the routes read (src/share/share-routes.ts;
 * share-routes.int.test.ts drives them with those headers).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/http/openapi.js';

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
}

function headersOf(path: string): Parameter[] {
  const operation = (openApiDocument.paths as Record<string, { get?: { parameters?: Parameter[] } }>)[path]
    ?.get;
  return (operation?.parameters ?? []).filter((p) => p.in === 'header');
}

describe('share viewing headers in the OpenAPI document (F14)', () => {
  it('names X-Share-Link and X-Share-Session, required, and no Authorization', () => {
    for (const path of ['/shared/{id}/records', '/shared/{id}/summary']) {
      const headers = headersOf(path);
      expect(headers.map((h) => h.name.toLowerCase()).sort(), path).toEqual([
        'x-share-link',
        'x-share-session',
      ]);
      expect(
        headers.every((h) => h.required === true),
        path,
      ).toBe(true);
    }
  });

  it('are the headers the share routes read', () => {
    const routes = readFileSync(new URL('../../src/share/share-routes.ts', import.meta.url), 'utf8');
    const read = [...routes.matchAll(/c\.req\.header\('([^']+)'\)/g)].map((m) => m[1]);
    for (const header of headersOf('/shared/{id}/records')) expect(read).toContain(header.name.toLowerCase());
  });
});
