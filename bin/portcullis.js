#!/usr/bin/env node
// The operator's CLI (`portcullis`, `npm run cli -- ...`), from the build in dist/.
import { launch } from './launch.js';

await launch('cli/main.js');
