/**
 * Server mode's access rules alone, without a socket: the token (a WebSocket subprotocol or an
 * `Authorization: Bearer` header; never a cookie or the URL), the page's own origin for sockets
 * and uploads, and the token a user may choose.
 */
import { describe, expect, it } from 'vitest';
import {
  bearerToken,
  hostForUrl,
  isLoopback,
  protocolToken,
  RPC_PROTOCOL,
  sameOrigin,
  ServerAuth,
  tokenProtocols,
} from '../../electron/server/auth';
import { securityHeaders } from '../../electron/server/http-replies';

const TOKEN = 'a-fixed-token-for-tests-0123456789';
const HOST = '127.0.0.1:8123';

function proto(token = TOKEN): string {
  return tokenProtocols(token).join(', ');
}

describe('ServerAuth', () => {
  it('lets the right token in as a subprotocol or a bearer header, and nothing else', () => {
    const auth = new ServerAuth(TOKEN);
    expect(auth.authorize({ host: HOST, 'sec-websocket-protocol': proto() })).toBe(true);
    expect(auth.authorize({ host: HOST, authorization: `Bearer ${TOKEN}` })).toBe(true);
    expect(auth.authorize({ host: HOST, authorization: `bearer  ${TOKEN}` })).toBe(true);
    expect(auth.authorize({ host: HOST, authorization: `Basic ${TOKEN}` })).toBe(false);
    expect(auth.authorize({ host: HOST, authorization: `Bearer ${TOKEN}x` })).toBe(false);
    expect(auth.authorize({ host: HOST, authorization: 'Bearer ' })).toBe(false);
    expect(
      auth.authorize({ host: HOST, 'sec-websocket-protocol': proto('wrong-0123456789') }),
    ).toBe(false);
    expect(auth.authorize({ host: HOST, 'sec-websocket-protocol': RPC_PROTOCOL })).toBe(false);
    expect(auth.authorize({ host: HOST })).toBe(false);
  });

  it('takes no cookie, whatever it holds', () => {
    const auth = new ServerAuth(TOKEN);
    const headers = { host: HOST, cookie: `vivarium_token_8123=${TOKEN}; vivarium_token=${TOKEN}` };
    expect(auth.authorize(headers)).toBe(false);
    expect(auth.refusal(headers)).toBe(401);
    expect('cookie' in auth).toBe(false);
  });

  it('encodes any printable token as a subprotocol and reads it back', () => {
    const odd = 'tok/en=with:odd,chars;{}"';
    const offered = tokenProtocols(odd);
    expect(offered[0]).toBe(RPC_PROTOCOL);
    // An HTTP token: what a browser accepts as a subprotocol.
    expect(offered[1]).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(protocolToken(offered.join(', '))).toBe(odd);
    expect(protocolToken(['a', offered[1]!])).toBe(odd);
    expect(protocolToken('vivarium.token.not base64!')).toBeUndefined();
    expect(protocolToken(undefined)).toBeUndefined();
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('Bearer a b')).toBeUndefined();
  });

  it('refuses sockets and uploads: 401 without the token, 403 from a foreign origin', () => {
    const auth = new ServerAuth(TOKEN);
    const ok = { host: HOST, authorization: `Bearer ${TOKEN}` };
    expect(auth.refusal({ host: HOST })).toBe(401);
    expect(auth.refusal({ host: HOST, origin: 'http://127.0.0.1:8123' })).toBe(401);
    expect(auth.refusal(ok)).toBeNull();
    expect(auth.refusal({ ...ok, origin: 'http://127.0.0.1:8123' })).toBeNull();
    expect(auth.refusal({ ...ok, origin: 'http://127.0.0.1:5173' })).toBe(403);
    expect(auth.refusal({ ...ok, origin: 'http://evil.example' })).toBe(403);
    expect(auth.refusal({ ...ok, origin: 'null' })).toBe(403);
    expect(auth.refusal({ authorization: ok.authorization, origin: 'http://127.0.0.1:8123' })).toBe(
      403,
    );
  });

  it('makes a random token unless given one, and refuses a weak or odd one', () => {
    const a = new ServerAuth();
    const b = new ServerAuth();
    expect(a.token).toMatch(/^[0-9a-f]{64}$/);
    expect(a.token).not.toBe(b.token);
    expect(() => new ServerAuth('short')).toThrow(/16 to 256 printable characters/);
    expect(() => new ServerAuth('has a space in it, long enough')).toThrow(/without spaces/);
    expect(new ServerAuth(TOKEN).token).toBe(TOKEN);
  });
});

describe('origin and host rules', () => {
  it('sameOrigin compares scheme-less host and port with the Host header', () => {
    expect(sameOrigin('http://localhost:8123', 'localhost:8123')).toBe(true);
    expect(sameOrigin('http://LOCALHOST:8123', 'LocalHost:8123')).toBe(true);
    expect(sameOrigin('https://localhost:8123', 'localhost:8123')).toBe(true);
    expect(sameOrigin('http://localhost:8124', 'localhost:8123')).toBe(false);
    expect(sameOrigin('file://', 'localhost:8123')).toBe(false);
    expect(sameOrigin('not a url', 'localhost:8123')).toBe(false);
    expect(sameOrigin('http://localhost:8123', undefined)).toBe(false);
  });

  it('isLoopback knows loopback addresses and names', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      expect(isLoopback(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.2', 'example.com'])
      expect(isLoopback(h)).toBe(false);
  });

  it('hostForUrl brackets IPv6 addresses', () => {
    expect(hostForUrl('::1')).toBe('[::1]');
    expect(hostForUrl('[::1]')).toBe('[::1]');
    expect(hostForUrl('127.0.0.1')).toBe('127.0.0.1');
  });

  it('the CSP lets the page reach only itself and this server’s sockets', () => {
    const h = securityHeaders({ host: '::1', port: 8123 }, 'localhost:8123');
    expect(h['Content-Security-Policy']).toContain(
      "connect-src 'self' ws://[::1]:8123 ws://localhost:8123",
    );
    expect(h['Content-Security-Policy']).toContain("frame-ancestors 'none'");
    expect(h['X-Frame-Options']).toBe('DENY');
    // A Host header that could smuggle policy text is left out.
    const odd = securityHeaders({ host: '127.0.0.1', port: 1 }, "x; script-src 'unsafe-eval'");
    expect(odd['Content-Security-Policy']).not.toContain('unsafe-eval');
  });
});
