// With NODE_ENV=production the servers refuse settings that are only safe on a developer's machine.
// Each refusal is one line naming the setting (printed by src/startup_refusal.ts, exit code 1).
import { type Config, ConfigError } from './config.ts';

function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\./.test(host);
}

function isPublicHttps(url: string): boolean {
  const parsed = new URL(url);
  return parsed.protocol === 'https:' && !isLoopbackHost(parsed.hostname);
}

/** Why this configuration may not run in production, setting by setting (empty: it may). */
export function productionProblems(config: Config): string[] {
  if (config.env !== 'production') return [];
  const problems: string[] = [];
  if (!isPublicHttps(config.issuer)) {
    problems.push(
      `ISSUER must be the public https:// URL clients use in production (now ${config.issuer}); behind a TLS-terminating proxy, set ISSUER to the https URL and TRUST_PROXY`,
    );
  } else if (!config.trustProxy) {
    // The server itself speaks plain HTTP, so an https issuer means a TLS proxy in front: only the
    // proxy's X-Forwarded-Proto tells the server the request was secure (Secure cookies).
    problems.push('TRUST_PROXY must be set in production: the server speaks plain HTTP behind the TLS proxy that serves the https ISSUER');
  }
  if (!isPublicHttps(config.resource)) {
    problems.push(`MCP_RESOURCE must be the MCP server's public https:// URL in production (now ${config.resource})`);
  }
  if (config.registrationInitialAccessToken === undefined && config.registrationOpen !== true) {
    problems.push(
      'dynamic client registration needs an explicit choice in production: REGISTRATION_OPEN=true (anyone may register) or REGISTRATION_INITIAL_ACCESS_TOKEN (registration needs that token)',
    );
  }
  if (config.database.url !== undefined && config.secrets.keys.length === 0 && config.secrets.keyFile === undefined) {
    problems.push(
      'SECRETS_KEY (or SECRETS_KEY_FILE) must be set in production with DATABASE_URL: the key that encrypts secrets at rest (make one with `npm run cli -- secrets new-key`)',
    );
  }
  const mailing = [config.selfService.signup !== 'off' && `SIGNUP=${config.selfService.signup}`, config.selfService.passwordReset && 'PASSWORD_RESET'].filter(Boolean);
  if (mailing.length > 0 && config.mail.smtpUrl === undefined) {
    // Outside production the links are logged instead; in production they must reach the inbox only.
    problems.push(`SMTP_URL must be set in production with ${mailing.join(' and ')}: verification and reset links go out by mail`);
  }
  for (const upstream of config.signIn.upstreams) {
    if (!isPublicHttps(upstream.issuer)) {
      problems.push(`UPSTREAM_PROVIDERS_FILE: provider ${upstream.id} must have a public https:// issuer in production (now ${upstream.issuer})`);
    }
  }
  return problems;
}

/** Throws the first problem as a ConfigError (one line), so a production server never starts unsafe. */
export function refuseUnsafeProduction(config: Config): void {
  const [first] = productionProblems(config);
  if (first) throw new ConfigError(`refusing to start with NODE_ENV=production: ${first}`);
}
