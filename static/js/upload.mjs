// Encrypting a tip in the browser and uploading only ciphertext (DESIGN §4 and §5, "Intake,
// JavaScript on"): the same objects, keys and commitments the no-JavaScript path stores, in
// the same storage format (docs/PROTOCOL.md §5.6), so a stored tip does not tell which path
// it came through.
//
// One pass per file: it is read with File.slice in 4 MiB pieces, never whole, and each piece
// is hashed and encrypted into the file's detached body object as it is read. Once that is
// uploaded, the small file object follows with the name, type, size, SHA-256 and the body
// object's id. The server needs every object's exact ciphertext length before it assigns
// ids; the file object's is known beforehand because a hash and an id always serialise to
// the same number of bytes. Ciphertext goes up in batches of whole secretstream chunks, each
// held in memory until the server confirms it, so a dropped request is resumed from the
// offset the server reports.

import { ApiError, Cancelled } from './api_client.mjs';
import { Sha256 } from './sha256.mjs';
import {
  BODY_METADATA,
  BODY_TRAILER_BYTES,
  canonicalJson,
  ciphertextLength,
  declaredSize,
  paddedLength,
  SCOPES,
} from './tipline_protocol.mjs';

export const READ_BYTES = 4 * 1024 * 1024;
export const MAX_FILENAME_CHARS = 200;
export const MAX_CONTENT_TYPE_CHARS = 200;
const RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 15000];
// Stand-ins of the same serialised length as the real hash and body id, to size the file
// object before either exists.
const PLACEHOLDER_SHA256 = '0'.repeat(64);
const PLACEHOLDER_ID = '00000000-0000-4000-8000-000000000000';
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

// The exact length of an object's v1 ciphertext, known before encrypting it. A detached
// body object's length follows from `bodySize`, the size its file object declares; a file
// object naming a body carries none of its own.
export function ciphertextSizeOf(metadata, { bodySize } = {}) {
  const encoded = utf8.encode(canonicalJson(metadata));
  let body = declaredSize(metadata);
  if (metadata.kind === 'body') {
    if (!Number.isSafeInteger(bodySize) || bodySize < 0) {
      throw new RangeError('A body object is sized by its file.');
    }
    body = bodySize + BODY_TRAILER_BYTES;
  }
  return ciphertextLength(paddedLength(4 + encoded.length + body));
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

// The file's bytes, each piece hashed as it is handed on to be encrypted.
async function* hashedBody(file, hash, signal) {
  for await (const piece of readFile(file, signal)) {
    hash.update(piece);
    yield piece;
  }
}

function fileMetadata(file, sha256, bodyId) {
  return {
    v: 1,
    kind: 'file',
    name: cleanFilename(file.name),
    type: (file.type || 'application/octet-stream').slice(0, MAX_CONTENT_TYPE_CHARS),
    size: file.size,
    sha256,
    body: bodyId,
  };
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

  // Uploads the ciphertext pieces (header, then secretstream chunks, `size` bytes in all)
  // in batches.
  async run(pieces, size) {
    const maxBatch = this.draft.limits.max_batch_bytes;
    const batch = new Uint8Array(Math.min(maxBatch, size));
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

// Encrypts and sends a report and its files. `progress` gets sending(done, total) and
// finishing(); `onDraft(draft)` is called once the draft exists so the caller can delete it
// if anything later fails. Resolves to { code }.
export async function sendTip({ sodium, protocol, api, desk, lang, fields, files, progress, signal, onDraft }) {
  // The plan: the report, then per file its detached body and the file object naming it.
  const report = { v: 1, kind: 'report', lang, fields };
  const plan = [{ kind: 'report', ciphertext_size: ciphertextSizeOf(report) }];
  for (const file of files) {
    const placeholder = fileMetadata(file, PLACEHOLDER_SHA256, PLACEHOLDER_ID);
    plan.push(
      { kind: 'body', ciphertext_size: ciphertextSizeOf(BODY_METADATA, { bodySize: file.size }) },
      { kind: 'file', ciphertext_size: ciphertextSizeOf(placeholder) },
    );
  }
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
    const upload = async (index, encrypt) => {
      const entry = draft.objects[index];
      const objectUpload = new ObjectUpload({
        api,
        draft,
        objectId: entry.object_id,
        signal,
        onProgress: (done) => progress.sending(before + done, total),
      });
      before += await objectUpload.run(encrypt(uuidBytes(entry.object_id)), entry.ciphertext_size);
    };
    await upload(0, (id) => protocol.encryptObject(keys.thread, id, report));
    for (const [number, file] of files.entries()) {
      const bodyIndex = 1 + 2 * number;
      const hash = new Sha256();
      await upload(bodyIndex, (id) =>
        protocol.encryptDetachedBody(keys.thread, id, hashedBody(file, hash, signal), file.size),
      );
      const metadata = fileMetadata(file, hash.hexDigest(), draft.objects[bodyIndex].object_id);
      if (ciphertextSizeOf(metadata) !== plan[bodyIndex + 1].ciphertext_size) {
        throw new UploadFailed('A file description came out a different size than planned.');
      }
      await upload(bodyIndex + 1, (id) => protocol.encryptObject(keys.thread, id, metadata));
    }
    progress.finishing();
    await finalize({ sodium, protocol, api, draft, keys, tipId, signal });
  } finally {
    sodium.memzero(keys.thread);
    sodium.memzero(keys.internal);
  }
  return { code: draft.code };
}
