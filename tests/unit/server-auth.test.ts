/**
 * Server mode's access rules alone, without a socket: the token (query or per-port cookie), the
 * page's own origin for sockets and uploads, and the token a user may choose.
 */
import { describe, expect, it } from 'vitest';
import {
  hostForUrl,
  isLoopback,
  readCookie,
  sameOrigin,
  ServerAuth,
} from '../../electron/server/auth';
import { securityHeaders } from '../../electron/server/http-replies';

const TOKEN = 'a-fixed-token-for-tests-0123456789';
const HOST = '127.0.0.1:8123';

function url(query = ''): URL {
  return new URL(`/rpc${query}`, 'http://vivarium.invalid');
}

describe('ServerAuth', () => {
  it('lets the right token in by query, and nothing else', () => {
    const auth = new ServerAuth(TOKEN);
    expect(auth.authorize({ host: HOST }, url(`?token=${TOKEN}`))).toBe('query');
    expect(auth.authorize({ host: HOST }, url('?token=wrong-token-0123456789'))).toBeNull();
    expect(auth.authorize({ host: HOST }, url('?token='))).toBeNull();
    expect(auth.authorize({ host: HOST }, url())).toBeNull();
    expect(auth.authorize({ host: HOST }, url(`?token=${TOKEN}x`))).toBeNull();
  });

  it('takes the cookie named for its port, set by a tokened page load', () => {
    const auth = new ServerAuth(TOKEN);
    auth.bindPort(8123);
    const cookie = auth.cookie();
    expect(cookie).toBe(
      `vivarium_token_8123=${encodeURIComponent(TOKEN)}; Path=/; HttpOnly; SameSite=Strict`,
    );
    const pair = cookie.split(';')[0];
    expect(auth.authorize({ host: HOST, cookie: `other=1; ${pair}` }, url())).toBe('cookie');
    // Another port's server (cookies ignore ports) or a wrong value does not count.
    expect(auth.authorize({ host: HOST, cookie: `vivarium_token_9000=${TOKEN}` }, url())).toBe(
      null,
    );
    expect(auth.authorize({ host: HOST, cookie: 'vivarium_token_8123=nope' }, url())).toBeNull();
  });

  it('refuses sockets and uploads: 401 without the token, 403 from a foreign origin', () => {
    const auth = new ServerAuth(TOKEN);
    const ok = url(`?token=${TOKEN}`);
    expect(auth.refusal({ host: HOST }, url())).toBe(401);
    expect(auth.refusal({ host: HOST, origin: 'http://127.0.0.1:8123' }, url())).toBe(401);
    expect(auth.refusal({ host: HOST }, ok)).toBeNull();
    expect(auth.refusal({ host: HOST, origin: 'http://127.0.0.1:8123' }, ok)).toBeNull();
    expect(auth.refusal({ host: HOST, origin: 'http://127.0.0.1:5173' }, ok)).toBe(403);
    expect(auth.refusal({ host: HOST, origin: 'http://evil.example' }, ok)).toBe(403);
    expect(auth.refusal({ host: HOST, origin: 'null' }, ok)).toBe(403);
    expect(auth.refusal({ origin: 'http://127.0.0.1:8123' }, ok)).toBe(403);
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

  it('readCookie finds one cookie among many, and ignores a broken escape', () => {
    expect(readCookie('a=1; b=two%20words; c=3', 'b')).toBe('two words');
    expect(readCookie('a=1', 'b')).toBeUndefined();
    expect(readCookie(undefined, 'b')).toBeUndefined();
    expect(readCookie('b=%E0%A4%A', 'b')).toBeUndefined();
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
