// OpenAPI 3.1 description of the admin API, served at /admin/openapi.json.
const revocationOptions = {
  reason: { type: 'string', maxLength: 500, description: 'why; kept in the audit trail' },
  dry_run: { type: 'boolean', description: 'report the counts, change nothing' },
};

const outcome = {
  type: 'object',
  required: ['action', 'target', 'counts', 'dryRun'],
  properties: {
    action: { type: 'string', examples: ['revoke_client'] },
    target: { type: 'object' },
    counts: {
      type: 'object',
      description: "rows removed, keyed by the provider's model names",
      additionalProperties: { type: 'integer' },
      examples: [{ Grant: 2, AccessToken: 3, RefreshToken: 2, AuthorizationCode: 2 }],
    },
    dryRun: { type: 'boolean' },
    auditId: { type: 'integer' },
  },
};

const error = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'string' }, error_description: { type: 'string' } },
};

function body(properties: Record<string, unknown>, required: string[] = []) {
  return {
    required: required.length > 0,
    content: {
      'application/json': {
        schema: { type: 'object', additionalProperties: false, required, properties: { ...revocationOptions, ...properties } },
      },
    },
  };
}

const revocationResponses = {
  200: { description: 'done (or, with dry_run, what would be done)', content: { 'application/json': { schema: outcome } } },
  400: { description: 'invalid request', content: { 'application/json': { schema: error } } },
  401: { description: 'missing, invalid, expired or revoked token' },
  403: { description: 'the token lacks the admin scope' },
  404: { description: 'unknown client, account, grant or token', content: { 'application/json': { schema: error } } },
  503: { description: 'the database is unavailable' },
};

const resourceUrl = {
  name: 'resource',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description: 'the resource URL, percent-encoded (encodeURIComponent)',
};

const scopeList = {
  type: 'array',
  minItems: 1,
  maxItems: 50,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'description'],
    properties: { name: { type: 'string', maxLength: 128 }, description: { type: 'string', maxLength: 200, description: 'shown on the consent page' } },
  },
};

const resourceView = {
  type: 'object',
  required: ['resource', 'name', 'scopes', 'access_token_ttl', 'created_at', 'updated_at'],
  properties: {
    resource: { type: 'string', description: 'the token audience and RFC 8707 resource indicator (normalized: no trailing slash)' },
    name: { type: 'string' },
    scopes: scopeList,
    access_token_ttl: { type: ['integer', 'null'], description: 'seconds; null: ACCESS_TOKEN_TTL' },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
};

const resourceResponses = (description: string, status = 200) => ({
  [status]: { description, content: { 'application/json': { schema: resourceView } } },
  400: { description: 'invalid definition', content: { 'application/json': { schema: error } } },
  404: { description: 'no resource is registered at this URL', content: { 'application/json': { schema: error } } },
  503: { description: 'the database is unavailable' },
});

const jsonBody = (properties: Record<string, unknown>, required: string[] = []) => ({
  required: true,
  content: { 'application/json': { schema: { type: 'object', additionalProperties: false, required, properties } } },
});

const clientId = { name: 'clientId', in: 'path', required: true, schema: { type: 'string' } };
const account = { name: 'account', in: 'path', required: true, schema: { type: 'string' }, description: 'id or email' };

export function adminOpenApi(resource: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Portcullis admin API',
      version: '1',
      description:
        `Revocation controls for operators. Authenticate with a client-credentials access token for the ` +
        `resource \`${resource}\` with scope \`admin\` (create an operator client with ` +
        '`npm run cli -- clients create-operator <name>`).',
    },
    servers: [{ url: resource.replace(/\/admin$/, '') }],
    security: [{ operatorToken: ['admin'] }],
    components: {
      securitySchemes: {
        operatorToken: {
          type: 'oauth2',
          flows: { clientCredentials: { tokenUrl: '/token', scopes: { admin: 'operate the authorization server' } } },
        },
      },
    },
    paths: {
      '/admin/clients': { get: { summary: 'List registered clients', responses: { 200: { description: 'clients' } } } },
      '/admin/clients/{clientId}': {
        parameters: [clientId],
        get: { summary: 'A client, whether it is disabled, and its grants', responses: { 200: { description: 'the client' } } },
        delete: {
          summary: 'Delete the client with every grant and token issued to it (the owner deletes the app)',
          requestBody: body({}),
          responses: revocationResponses,
        },
      },
      '/admin/clients/{clientId}/revoke': {
        parameters: [clientId],
        post: {
          summary: "Revoke the client's grants and tokens: all users, or only `accounts` (ids or emails)",
          requestBody: body({ accounts: { type: 'array', items: { type: 'string' }, maxItems: 1000 } }),
          responses: revocationResponses,
        },
      },
      '/admin/clients/{clientId}/disable': {
        parameters: [clientId],
        post: {
          summary: 'Revoke everything of a compromised client and refuse it until enabled',
          requestBody: body({}),
          responses: revocationResponses,
        },
      },
      '/admin/clients/{clientId}/enable': {
        parameters: [clientId],
        post: { summary: 'Let a disabled client authorize again', requestBody: body({}), responses: revocationResponses },
      },
      '/admin/grants': {
        get: {
          summary: 'List grants',
          parameters: [
            { name: 'client_id', in: 'query', schema: { type: 'string' } },
            { name: 'account', in: 'query', schema: { type: 'string' }, description: 'account id or email' },
          ],
          responses: { 200: { description: 'grants' } },
        },
      },
      '/admin/grants/{grantId}/revoke': {
        parameters: [{ name: 'grantId', in: 'path', required: true, schema: { type: 'string' } }],
        post: { summary: "Revoke one grant (a user's access to one client)", requestBody: body({}), responses: revocationResponses },
      },
      '/admin/accounts/{account}/revoke': {
        parameters: [account],
        post: {
          summary: "Revoke an account's grants: every client (and end its sessions), or only `client_id`",
          requestBody: body({ client_id: { type: 'string' } }),
          responses: revocationResponses,
        },
      },
      '/admin/accounts/{account}/disable': {
        parameters: [account],
        post: {
          summary: 'Revoke everything the account holds, end its sessions and refuse its sign-in until enabled',
          requestBody: body({}),
          responses: revocationResponses,
        },
      },
      '/admin/accounts/{account}/enable': {
        parameters: [account],
        post: { summary: 'Let a disabled account sign in again', requestBody: body({}), responses: revocationResponses },
      },
      '/admin/accounts/{account}': {
        parameters: [account],
        delete: {
          summary: "Revoke everything, then erase the account's personal data (its row: email, password hash; its notes)",
          requestBody: body({}),
          responses: revocationResponses,
        },
      },
      '/admin/invitations': {
        post: {
          summary: 'A single-use sign-up link for an email (SIGNUP=invite), valid for 7 days; send it to the person',
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: { type: 'object', additionalProperties: false, required: ['email'], properties: { email: { type: 'string', format: 'email' } } },
              },
            },
          },
          responses: {
            201: { description: 'the invitation: `email`, `link`, `expires_at`' },
            400: { description: 'not an email address', content: { 'application/json': { schema: error } } },
            409: { description: 'an account already has this email', content: { 'application/json': { schema: error } } },
          },
        },
      },
      '/admin/tokens/revoke': {
        post: {
          summary: 'Revoke a token (or jti) and the grant it belongs to',
          requestBody: body({ token: { type: 'string' } }, ['token']),
          responses: revocationResponses,
        },
      },
      '/admin/resources': {
        get: { summary: 'List the protected resources (MCP servers) tokens are issued for', responses: { 200: { description: '{ resources: [...] }' } } },
        post: {
          summary: "Register a protected resource and create its introspection client (the secret is returned once)",
          requestBody: jsonBody(
            {
              resource: { type: 'string', description: 'https URL of the MCP server (the token audience)' },
              name: { type: 'string', maxLength: 100, description: 'shown on consent and account pages' },
              scopes: scopeList,
              access_token_ttl: { type: 'integer', minimum: 1, maximum: 86400, description: 'seconds; default ACCESS_TOKEN_TTL' },
            },
            ['resource', 'name', 'scopes'],
          ),
          responses: {
            ...resourceResponses('registered: the resource with client_id and client_secret', 201),
            409: { description: 'registered already', content: { 'application/json': { schema: error } } },
          },
        },
      },
      '/admin/resources/{resource}': {
        parameters: [resourceUrl],
        get: { summary: 'A resource and its resource-server clients', responses: resourceResponses('the resource, with resource_server_clients') },
        patch: {
          summary: 'Change the name, the scopes (the whole list) or the access-token lifetime (null: the default)',
          requestBody: jsonBody({ name: { type: 'string' }, scopes: scopeList, access_token_ttl: { type: ['integer', 'null'] } }),
          responses: resourceResponses('the resource as changed'),
        },
        delete: {
          summary: 'Unregister the resource: revoke every grant for it (audited) and delete its resource-server clients',
          requestBody: body({}),
          responses: revocationResponses,
        },
      },
      '/admin/audit': {
        get: {
          summary: 'Recent revocations, newest first',
          parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } }],
          responses: { 200: { description: 'audit records' } },
        },
      },
    },
  };
}
