// A server that refuses to start (a bad or unsafe setting: ConfigError) says why in one line on
// stderr and exits 1, without a stack trace. Anything else still reports its stack (a bug).
import { ConfigError } from './config.ts';

export function exitReadablyOnRefusal(): void {
  process.on('uncaughtException', (error) => {
    if (error instanceof ConfigError) process.stderr.write(`portcullis: ${error.message}\n`);
    else console.error(error);
    process.exit(1);
  });
}
