// Storage knows only the models the product uses (src/storage/table_map.ts): the device flow, CIBA
// and pre-authorized codes are off, so DeviceCode, BackchannelAuthenticationRequest and
// PreAuthorizedCode never reach the adapter. Turning one on must be a deliberate change that fails here.
import { expect } from 'chai';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('models the product disables', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(() => server?.close());

  it('offers no device code, CIBA or pre-authorized code grant', async () => {
    const discovery = (await (await fetch(`${server.baseUrl}/.well-known/openid-configuration`)).json()) as { grant_types_supported: string[] };
    expect(discovery.grant_types_supported).to.include('authorization_code');
    expect(discovery.grant_types_supported).to.not.include.oneOf([
      'urn:ietf:params:oauth:grant-type:device_code',
      'urn:openid:params:grant-type:ciba',
      'urn:ietf:params:oauth:grant-type:pre-authorized_code',
    ]);
    expect(discovery).to.not.have.property('device_authorization_endpoint');
    expect(discovery).to.not.have.property('backchannel_authentication_endpoint');
  });
});
