/**
 * fetch() that honours the proxy variables every downloader honours: HTTPS_PROXY / HTTP_PROXY
 * (also lower case; ALL_PROXY as a fallback) and NO_PROXY (host suffixes, `*`, optional ports).
 * Node's built-in fetch ignores them, so behind a corporate proxy zoo could not download at all.
 * Through the proxy, http:// URLs are asked with the absolute URL (RFC 7230 5.3.2) and https://
 * URLs through a CONNECT tunnel with TLS end to end; the proxy's own credentials (user:pass@ in
 * its URL) go as Proxy-Authorization, never to the origin.
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';

function env(name: string): string | undefined {
  return process.env[name] || process.env[name.toLowerCase()] || undefined;
}

/** Whether NO_PROXY exempts `url` (entries: host, .suffix, *.suffix, host:port, `*`). */
export function noProxy(url: URL): boolean {
  const list = (env('NO_PROXY') ?? '').split(/[\s,]+/).filter((s) => s.length > 0);
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return list.some((entry) => {
    if (entry === '*') return true;
    const m = /^(.*?)(?::(\d+))?$/.exec(entry.toLowerCase())!;
    const name = m[1]!.replace(/^\*?\./, '').replace(/^\[|\]$/g, '');
    if (m[2] && m[2] !== port) return false;
    return host === name || host.endsWith(`.${name}`);
  });
}

/** The proxy for `url`, or undefined for a direct connection. */
export function proxyFor(url: URL): URL | undefined {
  const raw = url.protocol === 'https:' ? (env('HTTPS_PROXY') ?? env('ALL_PROXY')) : (env('HTTP_PROXY') ?? env('ALL_PROXY'));
  if (!raw || noProxy(url)) return undefined;
  try {
    return new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    return undefined;
  }
}

function proxyAuth(proxy: URL): Record<string, string> {
  if (!proxy.username) return {};
  const cred = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'proxy-authorization': `Basic ${Buffer.from(cred).toString('base64')}` };
}

/** A CONNECT tunnel to `target` through `proxy`. */
function tunnel(proxy: URL, target: URL, signal: AbortSignal | undefined): Promise<Socket> {
  const port = target.port || '443';
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: proxy.hostname,
      port: proxy.port || 80,
      method: 'CONNECT',
      path: `${target.hostname}:${port}`,
      headers: { host: `${target.hostname}:${port}`, ...proxyAuth(proxy) },
      ...(signal ? { signal } : {}),
    });
    req.once('connect', (res: IncomingMessage, socket: Socket) => {
      if (res.statusCode === 200) resolve(socket);
      else {
        socket.destroy();
        reject(new Error(`proxy ${proxy.host} refused the tunnel to ${target.host}: HTTP ${res.statusCode}`));
      }
    });
    req.once('error', (e) => reject(new Error(`proxy ${proxy.host}: ${e.message}`, { cause: e })));
    req.end();
  });
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** GET through `proxy`, as a fetch Response (redirects are not followed: hub.ts follows them itself). */
async function viaProxy(url: URL, proxy: URL, headers: Record<string, string>, signal: AbortSignal | undefined): Promise<Response> {
  let opts: RequestOptions;
  let send: typeof httpRequest;
  if (url.protocol === 'https:') {
    const socket = await tunnel(proxy, url, signal);
    const tls = tlsConnect({ socket, servername: url.hostname });
    opts = { createConnection: () => tls, host: url.hostname, port: url.port || 443, path: `${url.pathname}${url.search}`, agent: false };
    send = httpsRequest;
  } else {
    opts = { host: proxy.hostname, port: proxy.port || 80, path: url.href, headers: proxyAuth(proxy) };
    send = httpRequest;
  }
  return new Promise((resolve, reject) => {
    const req = send({ ...opts, method: 'GET', headers: { ...(opts.headers as Record<string, string>), host: url.host, ...headers }, ...(signal ? { signal } : {}) }, (res) => {
      const h = new Headers();
      for (const [k, v] of Object.entries(res.headers)) {
        if (v === undefined) continue;
        for (const one of Array.isArray(v) ? v : [v]) h.append(k, one);
      }
      const status = res.statusCode ?? 502;
      const body = NULL_BODY.has(status) ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
      if (body === null) res.resume();
      resolve(new Response(body, { status, statusText: res.statusMessage ?? '', headers: h }));
    });
    req.once('error', (e) => reject(new TypeError('fetch failed', { cause: e })));
    req.end();
  });
}

/** fetch(url, GET) with `redirect: 'manual'` semantics, through the proxy the environment names. */
export function proxiedFetch(url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
  const u = new URL(url);
  const proxy = proxyFor(u);
  if (!proxy) return fetch(url, { headers, redirect: 'manual', ...(signal ? { signal } : {}) });
  return viaProxy(u, proxy, headers, signal);
}
