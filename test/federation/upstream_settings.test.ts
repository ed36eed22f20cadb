// UPSTREAM_PROVIDERS_FILE and PASSWORD_SIGN_IN: read once by loadConfig, every mistake a one-line
// ConfigError naming the setting, secrets by value, environment variable or file, and the production
// policy's https requirement for upstream issuers.
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { productionProblems } from '../../src/production_policy.ts';
import { writeProvidersFile } from './providers_file.ts';

const provider = { id: 'corp', displayName: 'Corp SSO', issuer: 'https://sso.example.com', clientId: 'portcullis' };

function configWith(content: unknown, env: Record<string, string> = {}, extra: Record<string, string> = {}) {
  const file = writeProvidersFile(() => content, extra);
  return loadConfig({ NODE_ENV: 'test', UPSTREAM_PROVIDERS_FILE: file, ...env });
}

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).not.to.include('\n');
    return message;
  }
  throw new Error('expected a ConfigError');
}

describe('upstream providers configuration', () => {
  it('reads providers with their defaults, and secrets by value, environment variable or file', () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      CORP_SECRET: 'from-env',
      UPSTREAM_PROVIDERS_FILE: writeProvidersFile(
        (pathOf) => ({
          providers: [
            { ...provider, clientSecret: { env: 'CORP_SECRET' } },
            { ...provider, id: 'file', clientSecret: { file: pathOf('secret') } },
            { ...provider, id: 'plain', clientSecret: 'in-the-file', autoProvision: true, requireVerifiedEmail: false, claims: { email: 'upn' }, scope: 'openid email profile' },
            { ...provider, id: 'public' },
          ],
        }),
        { secret: 'from-file\n' },
      ),
    });
    const [env, file, plain, publicClient] = config.signIn.upstreams;
    expect(env).to.deep.equal({
      id: 'corp',
      displayName: 'Corp SSO',
      issuer: 'https://sso.example.com',
      clientId: 'portcullis',
      clientSecret: 'from-env',
      tokenEndpointAuthMethod: 'client_secret_basic',
      scope: 'openid email',
      emailClaim: 'email',
      requireVerifiedEmail: true,
      autoProvision: false,
    });
    expect(file!.clientSecret).to.equal('from-file');
    expect(plain).to.include({ clientSecret: 'in-the-file', autoProvision: true, requireVerifiedEmail: false, emailClaim: 'upn', scope: 'openid email profile' });
    expect(publicClient!.clientSecret).to.equal(undefined);
    expect(config.signIn.password).to.equal(true);
  });

  it('without the file: no upstreams, the password form', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).signIn).to.deep.equal({ password: true, upstreams: [] });
  });

  it('refuses, in one line naming the problem: unreadable or invalid files and missing secrets', () => {
    expect(refusal(() => loadConfig({ UPSTREAM_PROVIDERS_FILE: '/nonexistent/upstreams.json' }))).to.match(/UPSTREAM_PROVIDERS_FILE \/nonexistent\/upstreams\.json: cannot read it \(ENOENT\)/);
    expect(refusal(() => configWith('{ not json'))).to.match(/UPSTREAM_PROVIDERS_FILE .*: not JSON/);
    expect(refusal(() => configWith({ providers: [{ ...provider, id: 'Corp' }] }))).to.match(/providers\.0\.id: lowercase letters, digits and dashes/);
    expect(refusal(() => configWith({ providers: [provider, provider] }))).to.match(/provider ids must be unique/);
    expect(refusal(() => configWith({ providers: [{ ...provider, issuer: 'ftp://sso.example.com' }] }))).to.match(/providers\.0\.issuer/);
    expect(refusal(() => configWith({ providers: [{ ...provider, scope: 'email' }] }))).to.match(/providers\.0\.scope: must include openid/);
    expect(refusal(() => configWith({ providers: [{ ...provider, clientSecrt: 'typo' }] }))).to.match(/clientSecrt/);
    expect(refusal(() => configWith({ providers: [{ ...provider, clientSecret: { env: 'MISSING_SECRET' } }] }))).to.match(
      /providers\.0\.clientSecret: environment variable MISSING_SECRET is not set/,
    );
    expect(refusal(() => configWith({ providers: [{ ...provider, clientSecret: { file: '/nonexistent/secret' } }] }))).to.match(/cannot read \/nonexistent\/secret/);
  });

  it('PASSWORD_SIGN_IN=false needs an upstream provider', () => {
    expect(refusal(() => loadConfig({ PASSWORD_SIGN_IN: 'false' }))).to.match(/PASSWORD_SIGN_IN=false needs UPSTREAM_PROVIDERS_FILE/);
    expect(configWith({ providers: [provider] }, { PASSWORD_SIGN_IN: 'false' }).signIn.password).to.equal(false);
  });

  it('production requires public https issuers', () => {
    const production = {
      NODE_ENV: 'production',
      ISSUER: 'https://auth.example.com',
      TRUST_PROXY: '1',
      MCP_RESOURCE: 'https://mcp.example.com/mcp',
      REGISTRATION_OPEN: 'true',
    };
    const local = configWith({ providers: [{ ...provider, issuer: 'http://127.0.0.1:4000' }, { ...provider, id: 'loopback', issuer: 'https://localhost:4000' }] }, production);
    const problems = productionProblems(local);
    expect(problems).to.have.length(2);
    expect(problems[0]).to.match(/UPSTREAM_PROVIDERS_FILE: provider corp must have a public https:\/\/ issuer in production \(now http:\/\/127\.0\.0\.1:4000\)/);
    expect(productionProblems(configWith({ providers: [provider] }, production))).to.deep.equal([]);
  });
});
