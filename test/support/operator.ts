// Operator clients (what `clients create-operator` makes) and the admin-API tokens they are issued
// with the client_credentials grant.
import { expect } from 'chai';
import { adminResource, createOperatorClient } from '../../src/admin/operator_clients.ts';
import { type HttpResult, postForm, type RegisteredClient } from './oauth_flow.ts';
import type { TestServer } from './server.ts';

export async function createOperator(server: Pick<TestServer, 'db' | 'adapterFor'>, name = 'ops'): Promise<RegisteredClient & { client_secret: string }> {
  const credentials = await createOperatorClient(server.db, server.adapterFor('Client'), name);
  return { client_id: credentials.clientId, client_secret: credentials.clientSecret };
}

/** What /token answers `operator` asking for an admin-API token (for a test of a refusal). */
export function requestOperatorToken(baseUrl: string, operator: RegisteredClient): Promise<HttpResult> {
  return postForm(baseUrl, '/token', operator, { grant_type: 'client_credentials', scope: 'admin', resource: adminResource(baseUrl) });
}

/** An admin-API access token issued to `operator` by the server at `baseUrl`. */
export async function operatorToken(baseUrl: string, operator: RegisteredClient): Promise<string> {
  const issued = await requestOperatorToken(baseUrl, operator);
  expect(issued.status, JSON.stringify(issued.body)).to.equal(200);
  return String(issued.body.access_token);
}
