// The bundled notes server is one registered resource like any other. So that `npm start` works with
// no setup, the authorization server registers it (MCP_RESOURCE, or its default URL) at its first
// start on a database when it serves it, and at every start while MCP_RESOURCE is set and that URL
// is not registered (MCP_RESOURCE is the shortcut for one resource). A default resource an operator
// removed stays removed unless MCP_RESOURCE names it.
import type { Config } from '../config.ts';
import type { Database } from '../db/connect.ts';
import type { Logger } from '../logger.ts';
import { MCP_SCOPES } from '../scopes.ts';
import { insertResource } from '../storage/resource_store.ts';
import { defaultResourceRegistered, recordDefaultResourceRegistered } from '../storage/server_settings_store.ts';
import { checkResourceDefinition } from './resource_definition.ts';

export const DEMO_RESOURCE_NAME = 'Notes (the bundled MCP server)';

export async function ensureDefaultResource(db: Database, config: Config, logger: Logger): Promise<void> {
  const firstStart = !(await defaultResourceRegistered(db));
  if (!config.resourceFromEnvironment && !(firstStart && config.serve === 'all')) return;
  const definition = checkResourceDefinition({
    url: config.resource,
    name: DEMO_RESOURCE_NAME,
    scopes: Object.entries(MCP_SCOPES).map(([name, description]) => ({ name, description })),
  });
  if (await insertResource(db, definition)) logger.info({ resource: definition.url }, 'registered the bundled MCP server as a protected resource');
  if (firstStart) await recordDefaultResourceRegistered(db, definition.url);
}
