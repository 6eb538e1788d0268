/**
 * `PUT /upload?name=FILE` with `Authorization: Bearer <token>`: an install image from the
 * browser, for a Vivarium on another computer. A thin adapter: it checks who asks and what the
 * request announces, then the engine streams the body into the media cache
 * (catalog/media-upload.ts: bound, free space and its reservation, hashing, detection) and the
 * answer is the contract's MediaUploadResult, or an ApiErrorBody with a fitting status.
 */
import type http from 'node:http';
import type { ErrorCode } from '../../common/contract';
import { toErrorBody, type Engine } from '../engine';
import { MAX_UPLOAD_BYTES, uploadMedia } from '../engine/catalog/media-upload';
import type { ServerAuth } from './auth';
import type { HttpReplies } from './http-replies';

/** Where the browser sends an install image (renderer/src/bridge/upload.ts says the same). */
export const UPLOAD_PATH = '/upload';
/** An upload that sends nothing for this long is cut (and its partial file removed). */
const UPLOAD_IDLE_MS = 120_000;

/** The HTTP status for an engine error code, for the upload's JSON answers. */
const UPLOAD_STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_REQUEST: 400,
  UNAUTHORIZED: 401,
  RESOURCE_LIMIT: 413,
  CANCELLED: 400,
  NETWORK: 400,
  DISK_FULL: 507,
  // Another process holds the cache's space reservations: the client may simply retry.
  BUSY: 503,
};

export interface UploadDeps {
  engine: Engine;
  auth: ServerAuth;
  replies: HttpReplies;
  /** The engine's bound (64 GiB) unless given. */
  maxUploadBytes?: number | undefined;
}

export async function handleUpload(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  deps: UploadDeps,
): Promise<void> {
  const { engine, auth, replies } = deps;
  const refuse = (
    status: number,
    code: ErrorCode,
    message: string,
    extra: Record<string, string> = {},
  ): void => {
    // The body was not read: close rather than parse the rest of it as the next request.
    replies.json(req, res, status, { code, message }, { Connection: 'close', ...extra });
  };

  const refusal = auth.refusal(req.headers);
  if (refusal === 401) {
    refuse(
      401,
      'UNAUTHORIZED',
      'Vivarium needs its token: open the address `vivarium serve` printed (it ends in #token=…) and try again.',
    );
    return;
  }
  if (refusal === 403) {
    refuse(403, 'UNAUTHORIZED', 'Uploads are only taken from Vivarium’s own page.');
    return;
  }
  if (req.method !== 'PUT') {
    refuse(405, 'INVALID_REQUEST', 'Send the file with PUT.', { Allow: 'PUT' });
    return;
  }
  const name = url.searchParams.get('name') ?? '';
  if (!name.trim() || name.length > 1024) {
    refuse(400, 'INVALID_REQUEST', 'Say the file’s name: /upload?name=FILE.');
    return;
  }
  const length = req.headers['content-length'];
  if (length === undefined) {
    refuse(411, 'INVALID_REQUEST', 'An upload needs a Content-Length.');
    return;
  }
  const bytes = /^\d{1,16}$/.test(length) ? Number(length) : NaN;
  if (!Number.isSafeInteger(bytes)) {
    refuse(400, 'INVALID_REQUEST', 'The Content-Length is not a number.');
    return;
  }

  // The client going away (closing the tab, pressing Cancel) stops it; so does silence.
  const gone = new AbortController();
  const onReqClose = () => {
    if (!req.complete) gone.abort();
  };
  const onResClose = () => {
    if (!res.writableFinished) gone.abort();
  };
  req.once('close', onReqClose);
  res.once('close', onResClose);
  req.setTimeout(UPLOAD_IDLE_MS, () => {
    req.destroy(new Error('nothing arrived for two minutes'));
  });
  try {
    const result = await uploadMedia(engine.catalog, req, {
      name,
      bytes,
      maxBytes: deps.maxUploadBytes ?? MAX_UPLOAD_BYTES,
      signal: gone.signal,
    });
    req.setTimeout(0);
    replies.json(req, res, 200, result);
  } catch (err) {
    if (res.destroyed || res.headersSent) return;
    const body = toErrorBody(err);
    const status = UPLOAD_STATUS[body.code] ?? 500;
    replies.json(req, res, status, body, req.complete ? {} : { Connection: 'close' });
  } finally {
    req.off('close', onReqClose);
    res.off('close', onResClose);
  }
}
