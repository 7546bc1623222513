/**
 * A throw-away certificate authority for tests of TLS between members (issue 17 item 4): one CA,
 * and per host a server certificate for its IP address signed by it, made with Debian's openssl
 * (node:crypto parses X.509 but cannot issue it). Keys are written 0600.
 *
 * Node processes trust the CA through NODE_EXTRA_CA_CERTS (Node adds it to the roots that `fetch`
 * and `https` verify against); the test process itself, which started before the CA existed, gets a
 * `fetch` over node:https that verifies against the CA given.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';

export interface TestCa {
  /** The CA certificate (PEM), for NODE_EXTRA_CA_CERTS. */
  readonly certFile: string;
  readonly cert: Buffer;
  /** A server certificate for `address` (an IPv4 address: subjectAltName IP), signed by the CA. */
  issue(name: string, address: string): { certFile: string; keyFile: string };
}

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function createTestCa(dir: string): TestCa {
  const certFile = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  openssl([
    'req',
    '-x509',
    ...EC_KEY,
    '-days',
    '2',
    '-subj',
    '/CN=CareLedger throw-away test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout',
    caKey,
    '-out',
    certFile,
  ]);
  chmodSync(caKey, 0o600);
  return {
    certFile,
    cert: readFileSync(certFile),
    issue(name, address) {
      const keyFile = join(dir, `${name}.key`);
      const csr = join(dir, `${name}.csr`);
      const extensions = join(dir, `${name}.ext`);
      const hostCert = join(dir, `${name}.pem`);
      openssl(['req', '-new', ...EC_KEY, '-subj', `/CN=${name}`, '-keyout', keyFile, '-out', csr]);
      chmodSync(keyFile, 0o600);
      writeFileSync(
        extensions,
        [
          'basicConstraints=critical,CA:FALSE',
          'keyUsage=critical,digitalSignature',
          'extendedKeyUsage=serverAuth',
          `subjectAltName=IP:${address}`,
          '',
        ].join('\n'),
      );
      openssl([
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        certFile,
        '-CAkey',
        caKey,
        '-CAcreateserial',
        '-days',
        '2',
        '-extfile',
        extensions,
        '-out',
        hostCert,
      ]);
      return { certFile: hostCert, keyFile };
    },
  };
}

/**
 * A `fetch` (the subset the tests use: method, headers, string body, signal) over node:https that
 * trusts only `ca` and follows no redirects. Errors carry the TLS reason (`cause.code`), as fetch's do.
 */
export function createCaFetch(ca: Buffer): typeof fetch {
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const headers = new Headers(init.headers);
    const body = init.body == null ? undefined : String(init.body);
    if (body !== undefined) headers.set('content-length', String(Buffer.byteLength(body)));
    return new Promise<Response>((resolve, reject) => {
      const request = httpsRequest(
        url,
        {
          method: init.method ?? 'GET',
          headers: Object.fromEntries(headers),
          ca,
          ...(init.signal == null ? {} : { signal: init.signal }),
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const answer = new Headers();
            for (const [key, value] of Object.entries(response.headers)) {
              if (value === undefined) continue;
              for (const one of Array.isArray(value) ? value : [value]) answer.append(key, one);
            }
            const status = response.statusCode ?? 500;
            const bytes = Buffer.concat(chunks);
            resolve(
              new Response(status === 204 || status === 304 ? null : bytes, {
                status,
                statusText: response.statusMessage ?? '',
                headers: answer,
              }),
            );
          });
        },
      );
      request.on('error', (cause) => reject(new TypeError('fetch failed', { cause })));
      if (body !== undefined) request.write(body);
      request.end();
    });
  }) as typeof fetch;
}
