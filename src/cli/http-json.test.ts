import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { requestJson } from './http-json.js';

let server: Server | undefined;
afterEach(
  () => new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve()))),
);

/** A node that sheds the first `busy` requests (503, Retry-After: 0), then answers. */
async function startNode(busy: number): Promise<{ url: string; requests: () => number }> {
  let requests = 0;
  server = createServer((_, response) => {
    requests += 1;
    if (requests <= busy) {
      response.writeHead(503, { 'content-type': 'application/fhir+json', 'retry-after': '0' });
      response.end(
        JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ diagnostics: 'the node is busy' }] }),
      );
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/ledger/members`, requests: () => requests };
}

describe('requestJson against a node that sheds load', () => {
  it('repeats a shed request (503 with Retry-After) and returns the answer', async () => {
    const node = await startNode(3);
    await expect(requestJson(node.url, { method: 'POST', body: {} })).resolves.toEqual({ ok: true });
    expect(node.requests()).toBe(4);
  });

  it('reports the 503 after a bounded number of repeats', async () => {
    const node = await startNode(100);
    await expect(requestJson(node.url)).rejects.toMatchObject({
      code: 'ERR_CHAIN_UNAVAILABLE',
      message: '/ledger/members: the node is busy',
      details: { status: 503, retryAfterSeconds: 0 },
    });
    expect(node.requests()).toBe(6);
  });
});
