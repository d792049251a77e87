// Encrypting a tip in the browser and uploading only ciphertext (DESIGN §4 and §5, "Intake,
// JavaScript on"): the same objects, keys and commitments the no-JavaScript path stores.
//
// Files are read with File.slice in 4 MiB pieces, never whole: once to compute the SHA-256
// that the metadata carries before the body, and again to encrypt (re-hashing, so a file that
// changed in between fails instead of carrying a wrong evidence hash). Ciphertext goes up in
// batches of whole secretstream chunks, each held in memory until the server confirms it, so
// a dropped request is resumed from the offset the server reports.

import { ApiError, Cancelled } from './api_client.mjs';
import { Sha256 } from './sha256.mjs';
import { canonicalJson, ciphertextLength, paddedLength, SCOPES } from './tipline_protocol.mjs';

export const READ_BYTES = 4 * 1024 * 1024;
export const MAX_FILENAME_CHARS = 200;
export const MAX_CONTENT_TYPE_CHARS = 200;
const RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 15000];
const utf8 = new TextEncoder();

export class UploadFailed extends Error {
  constructor(message) {
    super(message);
    this.name = 'UploadFailed';
  }
}

// As app/services/intake.py clean_filename: no directories, no control characters.
export function cleanFilename(name) {
  const base = name.split('/').pop().split('\\').pop();
  const cleaned = base.replace(/\p{C}/gu, '').trim();
  return [...cleaned].slice(0, MAX_FILENAME_CHARS).join('') || 'unnamed';
}

// The exact length of an object's v1 ciphertext, known before encrypting it.
export function ciphertextSizeOf(metadata) {
  const encoded = utf8.encode(canonicalJson(metadata));
  return ciphertextLength(paddedLength(4 + encoded.length + (metadata.size ?? 0)));
}

export function uuidBytes(uuid) {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/.test(hex)) throw new UploadFailed('The server sent a malformed id.');
  return Uint8Array.from(hex.match(/../g), (pair) => parseInt(pair, 16));
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new Cancelled());
      },
      { once: true },
    );
  });
}

async function* readFile(file, signal) {
  for (let offset = 0; offset < file.size; offset += READ_BYTES) {
    if (signal?.aborted) throw new Cancelled();
    yield new Uint8Array(await file.slice(offset, offset + READ_BYTES).arrayBuffer());
  }
}

async function fingerprint(file, signal, onBytes) {
  const hash = new Sha256();
  for await (const piece of readFile(file, signal)) {
    hash.update(piece);
    onBytes(piece.length);
  }
  return hash.hexDigest();
}

async function* verifiedBody(file, sha256, signal) {
  const hash = new Sha256();
  for await (const piece of readFile(file, signal)) {
    hash.update(piece);
    yield piece;
  }
  // Thrown before the last chunk is pushed: the object never gets its FINAL chunk.
  if (hash.hexDigest() !== sha256) throw new UploadFailed('A file changed while it was being sent.');
}

// Runs `action` again after network failures and gateway errors, waiting longer each time.
async function withRetries(action, signal) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await action(attempt);
    } catch (error) {
      if (!(error instanceof ApiError && error.retryable) || attempt >= RETRY_DELAYS_MS.length) {
        throw error;
      }
      await sleep(RETRY_DELAYS_MS[attempt], signal);
    }
  }
}

class ObjectUpload {
  constructor({ api, draft, objectId, signal, onProgress }) {
    Object.assign(this, { api, draft, objectId, signal, onProgress });
  }

  async storedBytes() {
    const view = await withRetries(() => this.api.readDraft(this.draft, this.signal), this.signal);
    const entry = view.objects.find((o) => o.object_id === this.objectId);
    if (!entry) throw new UploadFailed('The server no longer knows this upload.');
    return entry.stored;
  }

  // Sends bytes[...] to land at `offset`; after a failure, asks the server what it holds.
  async sendBatch(bytes, offset) {
    let pending = bytes;
    let at = offset;
    const end = offset + bytes.length;
    for (let attempt = 0; ; attempt += 1) {
      try {
        const answer = await this.api.appendChunk(this.draft, this.objectId, at, pending, {
          signal: this.signal,
          onUploadProgress: (loaded) => this.onProgress(at + Math.min(loaded, pending.length)),
        });
        if (answer?.stored !== end) throw new UploadFailed('The server stored a different amount.');
        this.onProgress(end);
        return;
      } catch (error) {
        const resumable =
          error instanceof ApiError && (error.retryable || error.code === 'offset_mismatch');
        if (!resumable || attempt >= RETRY_DELAYS_MS.length) throw error;
        await sleep(RETRY_DELAYS_MS[attempt], this.signal);
        const stored = await this.storedBytes();
        if (stored === end) {
          this.onProgress(end); // it landed; only the answer was lost
          return;
        }
        if (stored < offset || stored > end) {
          throw new UploadFailed('The server holds a different part of this file than was sent.');
        }
        at = stored;
        pending = bytes.subarray(stored - offset);
      }
    }
  }

  // Uploads the ciphertext pieces (header, then secretstream chunks) in batches.
  async run(pieces) {
    const maxBatch = this.draft.limits.max_batch_bytes;
    const batch = new Uint8Array(maxBatch);
    let fill = 0;
    let offset = 0;
    for await (const piece of pieces) {
      if (fill + piece.length > maxBatch) {
        await this.sendBatch(batch.subarray(0, fill), offset);
        offset += fill;
        fill = 0;
      }
      batch.set(piece, fill);
      fill += piece.length;
    }
    if (fill) {
      await this.sendBatch(batch.subarray(0, fill), offset);
      offset += fill;
    }
    return offset;
  }
}

// Seals each data key to every recipient the server lists (both scopes) and the thread key to
// the tipster. Key ids are recomputed from the public keys, never taken on trust.
function sealKeys(sodium, protocol, keys, tipId, view) {
  const b64 = (bytes) => sodium.to_base64(bytes, sodium.base64_variants.ORIGINAL);
  const seal = (entry, scope) => {
    const publicKey = sodium.from_base64(entry.public_key, sodium.base64_variants.ORIGINAL);
    if (publicKey.length !== 32 || protocol.keyId(publicKey) !== entry.key_id) {
      throw new UploadFailed('The server sent a malformed recipient key.');
    }
    return { key_id: entry.key_id, scope, sealed: b64(protocol.sealDataKey(keys[scope], tipId, publicKey)) };
  };
  return [
    ...view.recipients.flatMap((recipient) => SCOPES.map((scope) => seal(recipient, scope))),
    seal(view.tipster, 'thread'),
  ];
}

async function finalize({ sodium, protocol, api, draft, keys, tipId, signal }) {
  const b64 = (bytes) => sodium.to_base64(bytes, sodium.base64_variants.ORIGINAL);
  const commitments = Object.fromEntries(
    SCOPES.map((scope) => [scope, b64(protocol.commitment(keys[scope], tipId, scope))]),
  );
  let view = draft;
  let resealed = false;
  let mayHaveLanded = false;
  for (let attempt = 0; ; attempt += 1) {
    const payload = { commitments, sealed_keys: sealKeys(sodium, protocol, keys, tipId, view) };
    try {
      await api.finalize(draft, payload, signal);
      return;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.code === 'already_submitted' && mayHaveLanded) return;
      if (error.code === 'recipients_changed' && !resealed) {
        view = await withRetries(() => api.readDraft(draft, signal), signal);
        resealed = true;
      } else if (error.retryable && attempt < RETRY_DELAYS_MS.length) {
        mayHaveLanded = true;
        await sleep(RETRY_DELAYS_MS[attempt], signal);
      } else {
        throw error;
      }
    }
  }
}

// Encrypts and sends a report and its files. `progress` gets hashing(done, total),
// sending(done, total) and finishing(); `onDraft(draft)` is called once the draft exists so
// the caller can delete it if anything later fails. Resolves to { code }.
export async function sendTip({ sodium, protocol, api, desk, lang, fields, files, progress, signal, onDraft }) {
  const totalFileBytes = files.reduce((sum, file) => sum + file.size, 0);
  let hashed = 0;
  progress.hashing(0, totalFileBytes);
  const objects = [{ metadata: { v: 1, kind: 'report', lang, fields }, body: () => [] }];
  for (const file of files) {
    const sha256 = await fingerprint(file, signal, (n) => {
      hashed += n;
      progress.hashing(hashed, totalFileBytes);
    });
    const metadata = {
      v: 1,
      kind: 'file',
      name: cleanFilename(file.name),
      type: (file.type || 'application/octet-stream').slice(0, MAX_CONTENT_TYPE_CHARS),
      size: file.size,
      sha256,
    };
    objects.push({ metadata, body: () => verifiedBody(file, sha256, signal) });
  }
  for (const object of objects) object.ciphertextSize = ciphertextSizeOf(object.metadata);

  const plan = objects.map((o) => ({ kind: o.metadata.kind, ciphertext_size: o.ciphertextSize }));
  const draft = await withRetries(() => api.createDraft({ desk, lang, objects: plan }, signal), signal);
  onDraft(draft);
  const matches = draft.objects.length === plan.length && draft.objects.every(
    (o, i) => o.kind === plan[i].kind && o.ciphertext_size === plan[i].ciphertext_size,
  );
  if (!matches) throw new UploadFailed('The server answered with a different plan.');

  const tipId = uuidBytes(draft.draft_id);
  const keys = { thread: protocol.generateDataKey(), internal: protocol.generateDataKey() };
  try {
    const total = plan.reduce((sum, o) => sum + o.ciphertext_size, 0);
    let before = 0;
    progress.sending(0, total);
    for (const [index, object] of objects.entries()) {
      const entry = draft.objects[index];
      const upload = new ObjectUpload({
        api,
        draft,
        objectId: entry.object_id,
        signal,
        onProgress: (done) => progress.sending(before + done, total),
      });
      const pieces = protocol.encryptObject(
        keys.thread,
        uuidBytes(entry.object_id),
        object.metadata,
        object.body(),
      );
      before += await upload.run(pieces);
    }
    progress.finishing();
    await finalize({ sodium, protocol, api, draft, keys, tipId, signal });
  } finally {
    sodium.memzero(keys.thread);
    sodium.memzero(keys.internal);
  }
  return { code: draft.code };
}
