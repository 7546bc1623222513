import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { CareLedgerError } from '../errors/index.js';

/** @hono/node-server's options for HTTPS (node:https) from PEM files; the messages name files, never contents. */
export function httpsServerOptions(tls: { readonly certFile: string; readonly keyFile: string }) {
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (cause) {
      throw new CareLedgerError('ERR_CONFIG', `cannot read the TLS ${what} ${file}`, { cause });
    }
  };
  return {
    createServer,
    serverOptions: {
      cert: read(tls.certFile, 'certificate'),
      key: read(tls.keyFile, 'key'),
      minVersion: 'TLSv1.2' as const,
    },
  };
}
