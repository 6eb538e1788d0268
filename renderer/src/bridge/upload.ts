import type { MediaUploadResult } from '../../../common/contract';
import { serverToken } from './token';
import { ApiError, isErrorBody } from './types';

/** Server mode's upload endpoint (electron/server/ UPLOAD_PATH). */
const UPLOAD_PATH = '/upload';

export interface UploadProgress {
  /** Bytes the browser has sent. */
  sent: number;
  total: number;
}

export interface UploadHandle {
  /** The stored image, or an ApiError (CANCELLED after `abort()`). */
  readonly done: Promise<MediaUploadResult>;
  abort(): void;
}

/**
 * Sends a file to the server's media cache (`PUT /upload?name=`), with upload progress. The
 * page's token goes in an Authorization header (never a cookie or the URL); the browser adds
 * Content-Length and Origin. XHR rather
 * than fetch: it reports upload progress and streams the File from disk.
 */
export function uploadFile(file: File, onProgress: (p: UploadProgress) => void): UploadHandle {
  const xhr = new XMLHttpRequest();
  const done = new Promise<MediaUploadResult>((resolve, reject) => {
    xhr.open('PUT', `${UPLOAD_PATH}?name=${encodeURIComponent(file.name)}`);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    const token = serverToken();
    if (token !== null) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.upload.onprogress = (e) => {
      onProgress({ sent: e.loaded, total: e.lengthComputable ? e.total : file.size });
    };
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // Not JSON: said below.
      }
      if (xhr.status === 200 && body && typeof body === 'object' && 'file' in body) {
        resolve(body as MediaUploadResult);
      } else if (isErrorBody(body)) {
        reject(ApiError.fromBody(body));
      } else {
        reject(new ApiError('INTERNAL', `The upload failed (HTTP ${xhr.status}).`));
      }
    };
    xhr.onerror = () => {
      reject(
        new ApiError(
          'DISCONNECTED',
          'The connection to Vivarium broke during the upload: nothing was kept. Try again.',
        ),
      );
    };
    xhr.onabort = () => {
      reject(new ApiError('CANCELLED', 'The upload was cancelled.'));
    };
    xhr.send(file);
  });
  return { done, abort: () => xhr.abort() };
}
