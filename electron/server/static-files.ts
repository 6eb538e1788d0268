/**
 * The built renderer: files only from inside its folder (checked on the raw path and again after
 * symlinks), app routes answered with the page, hashed assets cached for good. The app shell
 * carries no data, so it needs no token (the token sits in the URL's fragment, which never
 * reaches us); everything that carries data does (RPC and uploads: the token; streams: a
 * single-use ticket that only the tokened RPC hands out).
 */
import { createReadStream, promises as fsp } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { VivariumError } from '../engine';
import type { HttpReplies } from './http-replies';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** The static folder's real path; FILE_NOT_FOUND (with the fix) when the UI is not built. */
export async function staticRootOf(staticDir: string): Promise<string> {
  return fsp.realpath(path.resolve(staticDir)).catch(() => {
    throw new VivariumError(
      'FILE_NOT_FOUND',
      `The user interface is not built (${staticDir} is missing): run \`npm run build\``,
    );
  });
}

/** GET and HEAD of the built renderer. */
export async function serveStatic(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  rawPath: string,
  deps: { root: string; replies: HttpReplies },
): Promise<void> {
  const { root, replies } = deps;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    replies.text(req, res, 405, 'Method not allowed\n', undefined, { Allow: 'GET, HEAD' });
    return;
  }
  const rel = safeRelativePath(rawPath);
  if (rel === null) {
    replies.text(req, res, 400, 'Bad path\n');
    return;
  }
  let file = rel === '' ? 'index.html' : rel;
  let stat = await statInside(root, file);
  if (!stat) {
    // SPA fallback: app routes (no file extension) get the page; missing assets are 404.
    if (path.posix.extname(file) !== '') {
      replies.text(req, res, 404, 'Not found\n');
      return;
    }
    file = 'index.html';
    stat = await statInside(root, file);
    if (!stat) {
      replies.text(req, res, 404, 'The user interface is not built\n');
      return;
    }
  }
  const type = MIME[path.extname(stat.path).toLowerCase()] ?? 'application/octet-stream';
  const immutable = file.startsWith('assets/');
  res.writeHead(200, {
    ...replies.headers(req),
    'Content-Type': type,
    'Content-Length': String(stat.size),
    'Cache-Control': immutable ? 'private, max-age=31536000, immutable' : 'no-cache',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(stat.path);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

/**
 * The request path as a relative path inside the static folder, or null when it tries to leave
 * it (`..` segments, encoded or not), or holds backslashes, NUL bytes or bad escapes. Checked on
 * the raw path, before any URL normalisation could quietly drop the `..`.
 */
export function safeRelativePath(rawPath: string): string | null {
  if (!rawPath.startsWith('/')) return null;
  const segments: string[] = [];
  for (const raw of rawPath.split('/').slice(1)) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (seg === '..' || seg.includes('/') || seg.includes('\\') || seg.includes('\0')) return null;
    if (seg === '' || seg === '.') continue;
    // Dotfiles are never part of a build.
    if (seg.startsWith('.')) return null;
    segments.push(seg);
  }
  return segments.join('/');
}

async function statInside(
  root: string,
  rel: string,
): Promise<{ path: string; size: number } | null> {
  const candidate = path.resolve(root, rel);
  try {
    const real = await fsp.realpath(candidate);
    if (real !== root && !real.startsWith(root + path.sep)) return null;
    const st = await fsp.stat(real);
    return st.isFile() ? { path: real, size: st.size } : null;
  } catch {
    return null;
  }
}
