// Client ID Metadata Documents served by the test itself over https on localhost, with a self-signed
// certificate this process's fetch is made to trust (as NODE_EXTRA_CA_CERTS does for a child process).
// The server under test fetches them only with CLIENT_METADATA_ALLOW_LOOPBACK=true.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';

export type DocumentHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface MetadataDocumentServer {
  /** https://localhost:<port> */
  origin: string;
  /** The self-signed certificate's PEM file, for a child process's NODE_EXTRA_CA_CERTS. */
  certificateFile: string;
  /** Requests received per path. */
  hits: Map<string, number>;
  /** Serves `document` (JSON) at `path`, or runs `handler` there. */
  serve(path: string, documentOrHandler: Record<string, unknown> | DocumentHandler): string;
  close(): Promise<void>;
}

const GLOBAL_DISPATCHER = [Symbol.for('undici.globalDispatcher.2'), Symbol.for('undici.globalDispatcher.1')];

/** Makes globalThis.fetch (Node's undici) trust `certificate` besides the usual roots. */
function trustForFetch(certificate: string): void {
  void Response; // Node loads its fetch (and the global dispatcher) lazily.
  const current = GLOBAL_DISPATCHER.map((symbol) => (globalThis as Record<symbol, unknown>)[symbol]).find(Boolean) as
    | { constructor: new (options: unknown) => unknown }
    | undefined;
  if (!current) throw new Error('no global fetch dispatcher to extend');
  const agent = new current.constructor({ connect: { ca: [...rootCertificates, certificate] } });
  for (const symbol of GLOBAL_DISPATCHER) (globalThis as Record<symbol, unknown>)[symbol] = agent;
}

export async function startMetadataDocumentServer(): Promise<MetadataDocumentServer> {
  const workdir = mkdtempSync(join(tmpdir(), 'portcullis-documents-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
    '-keyout', join(workdir, 'key.pem'), '-out', join(workdir, 'cert.pem'),
  ], { stdio: 'ignore' });
  const certificate = readFileSync(join(workdir, 'cert.pem'), 'utf8');
  trustForFetch(certificate);

  const handlers = new Map<string, DocumentHandler>();
  const hits = new Map<string, number>();
  const server: Server = createServer({ key: readFileSync(join(workdir, 'key.pem')), cert: certificate }, (req, res) => {
    const path = req.url ?? '';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const handler = handlers.get(path);
    if (!handler) {
      res.writeHead(404).end();
      return;
    }
    handler(req, res);
  });
  server.listen(0, 'localhost');
  await once(server, 'listening');
  const origin = `https://localhost:${(server.address() as { port: number }).port}`;

  return {
    origin,
    certificateFile: join(workdir, 'cert.pem'),
    hits,
    serve(path, documentOrHandler) {
      handlers.set(
        path,
        typeof documentOrHandler === 'function'
          ? documentOrHandler
          : (_req, res) => {
              res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' });
              res.end(JSON.stringify(documentOrHandler));
            },
      );
      return `${origin}${path}`;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      rmSync(workdir, { recursive: true, force: true });
    },
  };
}

/** A document for a public MCP client whose client_id is `url`. */
export function publicClientDocument(url: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    client_id: url,
    client_name: 'Document client',
    redirect_uris: ['http://127.0.0.1:9/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    ...extra,
  };
}
