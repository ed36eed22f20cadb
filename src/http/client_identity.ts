// What the login and consent pages may truthfully say about a client. Its name and logo are what the
// client says about itself: a metadata document's come from the document's host (shown beside them),
// a dynamically registered client's from whoever registered it (marked unverified). Where the browser
// goes next is the redirect URI's host, shown for every client.
import { isLoopbackHost } from '../provider/redirect_policy.ts';

export interface ClientIdentity {
  /** The name to show: the client's own, or its client_id when it has none. */
  name: string;
  /** metadata document: the host serving it; registered: anyone could have picked the name. */
  source: { kind: 'document'; host: string; clientId: string } | { kind: 'registered' };
  /** Where the browser is sent after the user decides. */
  returnsTo: ReturnTarget | undefined;
  logoUri: string | undefined;
  clientUri: string | undefined;
}

export type ReturnTarget =
  | { kind: 'web'; host: string }
  | { kind: 'device'; host: string }
  | { kind: 'app'; scheme: string };

export interface ClientFacts {
  clientId: string;
  clientName?: string | undefined;
  logoUri?: string | undefined;
  clientUri?: string | undefined;
  /** Set by the library on clients resolved from a Client ID Metadata Document. */
  clientIdMetadataDocument?: boolean | undefined;
}

export function returnTarget(redirectUri: unknown): ReturnTarget | undefined {
  const url = typeof redirectUri === 'string' ? URL.parse(redirectUri) : null;
  if (!url) return undefined;
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    return isLoopbackHost(url.hostname) ? { kind: 'device', host: url.host } : { kind: 'web', host: url.host };
  }
  return { kind: 'app', scheme: url.protocol };
}

export function clientIdentity(client: ClientFacts | undefined, clientId: string, redirectUri: unknown): ClientIdentity {
  const document = client?.clientIdMetadataDocument === true ? URL.parse(clientId) : null;
  return {
    name: client?.clientName || clientId,
    source: document ? { kind: 'document', host: document.host, clientId } : { kind: 'registered' },
    returnsTo: returnTarget(redirectUri),
    logoUri: client?.logoUri,
    clientUri: client?.clientUri,
  };
}

/** One line for where there is no room for more (the sign-in page): the name and its standing. */
export function describeClient(identity: ClientIdentity): string {
  return identity.source.kind === 'document' ? `${identity.name} (from ${identity.source.host})` : `“${identity.name}” (unverified name)`;
}
