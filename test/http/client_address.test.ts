// The client-address rule (src/http/client_address.ts) on a bare Koa app, and how TRUST_PROXY reads.
import { expect } from 'chai';
import Koa from 'koa';
import request from 'supertest';
import { trustProxyHops } from '../../src/http/client_address.ts';
import { loadConfig } from '../../src/config.ts';

function addressOf(hops: number) {
  const app = new Koa();
  trustProxyHops(app, hops);
  app.use((ctx) => {
    ctx.body = { ip: ctx.ip };
  });
  return async (xff?: string): Promise<string> => {
    const call = request(app.callback()).get('/');
    return ((await (xff === undefined ? call : call.set('x-forwarded-for', xff))).body as { ip: string }).ip;
  };
}

describe('client address behind reverse proxies (TRUST_PROXY)', () => {
  it('0 hops: X-Forwarded-For is ignored, the socket address is the client', async () => {
    const ip = addressOf(0);
    expect(await ip('203.0.113.1')).to.match(/127\.0\.0\.1|::1/);
  });

  it('1 hop: the right-most entry, whatever the client put left of it; the socket without the header', async () => {
    const ip = addressOf(1);
    expect(await ip('198.51.100.1, 10.0.0.1, 203.0.113.7')).to.equal('203.0.113.7');
    expect(await ip('203.0.113.7')).to.equal('203.0.113.7');
    expect(await ip()).to.match(/127\.0\.0\.1|::1/);
  });

  it('2 hops: the second entry from the right (the first proxy saw the client, the second saw the first)', async () => {
    const ip = addressOf(2);
    expect(await ip('198.51.100.1, 203.0.113.7, 10.0.0.2')).to.equal('203.0.113.7');
  });

  it('TRUST_PROXY reads false/true or a number of hops, and refuses anything else readably', () => {
    const hops = (value?: string) => loadConfig(value === undefined ? {} : { TRUST_PROXY: value }).trustProxy;
    expect([undefined, '', 'false', 'no', '0', 'true', 'yes', '1', '2'].map(hops)).to.deep.equal([0, 0, 0, 0, 0, 1, 1, 1, 2]);
    for (const bad of ['abc', '-1', '1.5', '21']) expect(() => hops(bad), bad).to.throw(/TRUST_PROXY/);
  });
});
