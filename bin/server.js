#!/usr/bin/env node
// `npm start`: the authorization server (and the MCP server unless SERVE=authorization), from the
// build in dist/. The process to signal: `npm start` execs it, so npm's pid and this one both work.
import { launch } from './launch.js';

await launch('main.js');
