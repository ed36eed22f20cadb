// A disabled client does not exist, whatever kind it is: registered (DCR), operator, or a Client ID
// Metadata Document client, which is never stored and so never passes through the adapter. Every
// place the library resolves a client — /authorize, client authentication at /token, /introspect and
// /revoke, a token's client at introspection — calls Client.find, and so do our resource servers'
// verifiers (src/tokens/): wrapping it is the one place the rule needs. A stored client's read already
// carries its disabled mark (the adapter's Client find: one statement, not two), so only the ids
// that never reach storage are checked here.
import type Provider from 'oidc-provider';
import { isMetadataDocumentClientId } from '../storage/client_store.ts';

export function refuseDisabledClients(provider: Provider, isDisabled: (clientId: string) => Promise<boolean>): void {
  const Client = provider.Client;
  const find = Client.find.bind(Client);
  Client.find = async (id: string) => {
    // The library returns undefined for a non-string or empty id without a lookup; so do we.
    if (typeof id !== 'string' || !isMetadataDocumentClientId(id)) return find(id);
    const [disabled, client] = await Promise.all([isDisabled(id), find(id)]);
    return disabled ? undefined : client;
  };
}
