// Per-tool scopes for an MCP server: the scopes a JSON-RPC body (one message or a batch) needs, one
// per tools/call of a listed tool. Calls of other tools and other methods need none here (the
// server's own handlers still decide what they allow).
export type ToolScopes = Readonly<Record<string, string | readonly string[]>>;

export function scopesForToolCalls(body: unknown, toolScopes: ToolScopes): Set<string> {
  const needed = new Set<string>();
  for (const message of Array.isArray(body) ? body : [body]) {
    if (!message || typeof message !== 'object') continue;
    const { method, params } = message as { method?: unknown; params?: { name?: unknown } };
    if (method !== 'tools/call' || typeof params?.name !== 'string' || !Object.hasOwn(toolScopes, params.name)) continue;
    const scopes = toolScopes[params.name]!;
    for (const scope of typeof scopes === 'string' ? [scopes] : scopes) needed.add(scope);
  }
  return needed;
}

/** `requiredScopes` for the kit's middleware: the scopes of the tools the request calls. */
export function toolCallScopes(toolScopes: ToolScopes): (request: unknown, body: unknown) => Set<string> {
  return (_request, body) => scopesForToolCalls(body, toolScopes);
}
