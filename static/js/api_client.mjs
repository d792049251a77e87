// The browser side of /api/v1 (described at /api/v1/openapi.json). XMLHttpRequest rather
// than fetch: only XHR reports upload progress, which the progress bar needs for large chunks
// on slow Tor circuits.

export class ApiError extends Error {
  // status 0 means the request never got an answer (network, aborted connection).
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }

  get retryable() {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

export class Cancelled extends Error {
  constructor() {
    super('Cancelled');
    this.name = 'Cancelled';
  }
}

const JSON_TYPE = 'application/json';
const JSON_TIMEOUT_MS = 2 * 60 * 1000;
// A chunk batch (up to 16 MiB) gets no fixed time limit: on a slow Tor circuit it can take
// many minutes. It is abandoned as a network failure (and resumed from what the server
// stored) once neither upload progress nor an answer has come for this long.
export const STALL_TIMEOUT_MS = 2 * 60 * 1000;

// `timeout`: a fixed limit for the whole request; `stallTimeout`: a limit on silence instead.
function send({ method, url, token, body, type, signal, onUploadProgress, timeout, stallTimeout }) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new Cancelled());
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.timeout = timeout ?? 0;
    if (type) xhr.setRequestHeader('Content-Type', type);
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.setRequestHeader('Accept', JSON_TYPE);
    const onAbort = () => xhr.abort();
    signal?.addEventListener('abort', onAbort);
    let stallTimer = null;
    let stalled = false;
    const stillMoving = () => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => {
        stalled = true;
        xhr.abort();
      }, stallTimeout);
    };
    const done = (settle) => {
      clearTimeout(stallTimer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    };
    if (stallTimeout) {
      xhr.upload.onloadstart = stillMoving;
      xhr.upload.onload = stillMoving; // all sent: the answer has the same time to come
      xhr.onreadystatechange = stillMoving;
      xhr.onprogress = stillMoving;
    }
    if (onUploadProgress || stallTimeout) {
      xhr.upload.onprogress = (event) => {
        if (stallTimeout) stillMoving();
        onUploadProgress?.(event.loaded);
      };
    }
    xhr.onload = () =>
      done(() => {
        let payload = null;
        try {
          payload = xhr.responseText ? JSON.parse(xhr.responseText) : null;
        } catch {
          payload = null;
        }
        if (xhr.status >= 200 && xhr.status < 300) {
          resolve(payload);
          return;
        }
        const code = payload?.error ?? `http_${xhr.status}`;
        const message = payload?.message ?? `The server answered ${xhr.status}.`;
        reject(new ApiError(xhr.status, code, message));
      });
    const failed = () =>
      done(() => {
        if (signal?.aborted) reject(new Cancelled());
        else if (stalled) reject(new ApiError(0, 'network', 'The upload stopped moving.'));
        else reject(new ApiError(0, 'network', 'No answer.'));
      });
    xhr.onerror = failed;
    xhr.ontimeout = failed;
    xhr.onabort = failed;
    if (stallTimeout) stillMoving();
    xhr.send(body ?? null);
  });
}

export class ApiClient {
  // `drafts` is the URL of the drafts collection, /api/v1/drafts.
  constructor(drafts) {
    this.drafts = drafts.replace(/\/$/, '');
  }

  json(method, path, { token, payload, signal } = {}) {
    return send({
      method,
      url: this.drafts + path,
      token,
      body: payload === undefined ? null : JSON.stringify(payload),
      type: payload === undefined ? null : JSON_TYPE,
      signal,
      timeout: JSON_TIMEOUT_MS,
    });
  }

  createDraft(payload, signal) {
    return this.json('POST', '', { payload, signal });
  }

  readDraft(draft, signal) {
    return this.json('GET', `/${draft.draft_id}`, { token: draft.token, signal });
  }

  discardDraft(draft) {
    return this.json('DELETE', `/${draft.draft_id}`, { token: draft.token });
  }

  finalize(draft, payload, signal) {
    return this.json('POST', `/${draft.draft_id}/finalize`, {
      token: draft.token,
      payload,
      signal,
    });
  }

  appendChunk(draft, objectId, offset, bytes, { signal, onUploadProgress }) {
    return send({
      method: 'POST',
      url: `${this.drafts}/${draft.draft_id}/objects/${objectId}/chunks?offset=${offset}`,
      token: draft.token,
      body: bytes,
      type: 'application/octet-stream',
      signal,
      onUploadProgress,
      stallTimeout: STALL_TIMEOUT_MS,
    });
  }
}
