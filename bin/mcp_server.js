#!/usr/bin/env node
// `npm run start:mcp`: the MCP server alone, from the build in dist/.
import { launch } from './launch.js';

await launch('mcp/main.js');
