// autocannon in its own process (the servers under test keep the bench process; autocannon assumes
// it owns any worker thread it runs in): reads a job file, POSTs one prepared form body per request,
// in order (optionally each with its own Authorization header), and prints throughput and latency percentiles as JSON on stdout.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface LoadJob {
  url: string;
  bodies: string[];
  connections: number;
  headers?: Record<string, string>;
  /** Authorization header values, one per request in turn (e.g. a pool of access tokens). */
  authorizations?: string[];
}

export interface LoadResult {
  requests: number;
  seconds: number;
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadJob;
let next = 0;
// autocannon stops on its 1 s sampling tick: time the run from the first request to the last response.
const started = performance.now();
let lastResponse = started;
const result = await new Promise<autocannon.Result>((resolve, reject) => {
  const instance = autocannon({
  url: job.url,
  method: 'POST',
  connections: job.connections,
  amount: job.bodies.length,
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...job.headers },
  requests: [
    {
      setupRequest: (request) => {
        const index = next++;
        const authorization = job.authorizations?.[index % job.authorizations.length];
        return { ...request, body: job.bodies[index % job.bodies.length], ...(authorization ? { headers: { ...request.headers, authorization } } : {}) };
      },
    },
  ],
  }, (error, done) => (error ? reject(error) : resolve(done)));
  instance.on('response', () => {
    lastResponse = performance.now();
  });
});
const seconds = (lastResponse - started) / 1000;
const output: LoadResult = {
  requests: result.requests.total,
  seconds: Number(seconds.toFixed(2)),
  throughput: Math.round(result.requests.total / seconds),
  p50Ms: result.latency.p50,
  p99Ms: result.latency.p99,
  non2xx: result.non2xx,
  errors: result.errors,
};
process.stdout.write(JSON.stringify(output));
