// Tipline protocol v1 (docs/PROTOCOL.md) in JavaScript, for the browser intake and for
// interoperability tests. Depends on nothing but a ready libsodium-wrappers instance,
// which the caller passes to createProtocol(sodium), and its sibling tipline_metadata.mjs:
// the two files can move to static/js/ unchanged.
//
// Errors: every rejection throws a ProtocolError whose `name` matches the Python
// exception class (TamperedCiphertext, TruncatedStream, ...).

import {
  canonicalJson,
  declaredSize,
  MAX_BODY_SIZE,
  metadataProblem,
  parseMetadata,
  ProtocolError,
} from './tipline_metadata.mjs';

export {
  canonicalJson,
  declaredSize,
  KINDS,
  MAX_BODY_SIZE,
  parseMetadata,
  ProtocolError,
} from './tipline_metadata.mjs';

const fail = (name, message) => {
  throw new ProtocolError(name, message);
};

export const CHUNK_SIZE = 65536;
export const HEADER_BYTES = 24;
export const CHUNK_OVERHEAD = 17;
export const CIPHERTEXT_CHUNK_SIZE = CHUNK_SIZE + CHUNK_OVERHEAD;
export const SCOPES = Object.freeze(['thread', 'internal']);
export const MAX_METADATA_BYTES = 1024 * 1024;
export const MIN_METADATA_BYTES = 2;
export const BODY_TRAILER_BYTES = 8; // u64le(size) ends a detached body's plaintext (§5.6)
export const BODY_METADATA = Object.freeze({ v: 1, kind: 'body' });
const SMALL_UNIT = 4096;
const LARGE_UNIT = 1024 * 1024;
const EMPTY = new Uint8Array(0);

// u64le(size), the trailer binding a detached body to the size its file object declares.
function bodyTrailer(size) {
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_BODY_SIZE) {
    throw new RangeError("A detached body's size is out of range.");
  }
  const trailer = new Uint8Array(BODY_TRAILER_BYTES);
  new DataView(trailer.buffer).setBigUint64(0, BigInt(size), true);
  return trailer;
}

export function paddedLength(unpaddedLength) {
  if (!(unpaddedLength > 0)) throw new RangeError('unpadded length must be positive');
  const unit = unpaddedLength <= LARGE_UNIT ? SMALL_UNIT : LARGE_UNIT;
  return Math.ceil(unpaddedLength / unit) * unit;
}

export function chunkCount(paddedLen) {
  return Math.ceil(paddedLen / CHUNK_SIZE);
}

export function ciphertextLength(paddedLen) {
  return HEADER_BYTES + paddedLen + chunkCount(paddedLen) * CHUNK_OVERHEAD;
}

export function concatBytes(...parts) {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

// Reads exact-length records from pieces split anywhere (sync or async iterable).
class ExactReader {
  constructor(pieces) {
    this.iterator = (pieces[Symbol.asyncIterator] || pieces[Symbol.iterator]).call(pieces);
    this.current = new Uint8Array(0);
  }

  async fetch() {
    for (;;) {
      const { value, done } = await this.iterator.next();
      if (done) return false;
      if (value.length) {
        this.current = value;
        return true;
      }
    }
  }

  async read(length) {
    const parts = [];
    let need = length;
    while (need) {
      if (!this.current.length && !(await this.fetch())) break;
      const taken = this.current.subarray(0, need);
      parts.push(taken.slice());
      need -= taken.length;
      this.current = this.current.subarray(taken.length);
    }
    return parts.length === 1 ? parts[0] : concatBytes(...parts);
  }

  unread(bytes) {
    if (bytes.length) this.current = concatBytes(bytes, this.current);
  }

  async atEnd() {
    return !this.current.length && !(await this.fetch());
  }
}

export function createProtocol(sodium) {
  const utf8 = new TextEncoder();
  const TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
  const TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  const keyedHash = (key, ...parts) => sodium.crypto_generichash(32, concatBytes(...parts), key);
  const label = (text) => utf8.encode(text);
  const checkScope = (scope) => {
    if (!SCOPES.includes(scope)) throw new RangeError('unknown scope');
  };

  function keyId(publicKey) {
    return sodium.to_hex(sodium.crypto_generichash(16, publicKey, null));
  }

  function generateDataKey() {
    return sodium.randombytes_buf(32);
  }

  function commitment(dataKey, tipId, scope) {
    checkScope(scope);
    return keyedHash(dataKey, label('tipline/v1/commit'), tipId, label(scope));
  }

  function objectKey(dataKey, objectId) {
    return keyedHash(dataKey, label('tipline/v1/object'), objectId);
  }

  function lookupDigest(pepper, canonical) {
    return keyedHash(pepper, label('tipline/v1/lookup'), canonical);
  }

  // seed = Argon2id(canonical, tipSalt, 2, 19 MiB) comes from the server or the sumo build.
  function tipsterKeyPairFromSeed(seed) {
    const privateKey = keyedHash(seed, label('tipline/v1/tipster-box'));
    return { publicKey: sodium.crypto_scalarmult_base(privateKey), privateKey };
  }

  function sealDataKey(dataKey, tipId, recipientPublicKey) {
    if (dataKey.length !== 32 || tipId.length !== 16) throw new RangeError('bad key or tip id');
    return sodium.crypto_box_seal(concatBytes(dataKey, tipId), recipientPublicKey);
  }

  function openDataKey(sealed, { tipId, publicKey, privateKey, scope, expectedCommitment }) {
    checkScope(scope);
    if (sealed.length !== 96) fail('SealedKeyInvalid', 'The sealed data key has a wrong length.');
    let opened;
    try {
      opened = sodium.crypto_box_seal_open(sealed, publicKey, privateKey);
    } catch {
      fail('SealedKeyInvalid', 'The sealed data key cannot be opened with this key.');
    }
    const dataKey = opened.slice(0, 32);
    if (!sodium.memcmp(opened.slice(32), tipId)) {
      fail('WrongTip', 'The sealed data key belongs to a different tip.');
    }
    if (!sodium.memcmp(commitment(dataKey, tipId, scope), expectedCommitment)) {
      fail('CommitmentMismatch', 'The data key does not match the key commitment.');
    }
    return dataKey;
  }

  // u32le(len(M)) || M, the start of every object's plaintext, for valid metadata only.
  function metadataPrefix(metadata) {
    const problem = metadataProblem(metadata);
    if (problem) throw new ProtocolError('InvalidMetadata', problem[1]);
    const encoded = utf8.encode(canonicalJson(metadata));
    if (encoded.length > MAX_METADATA_BYTES) fail('InvalidMetadata', 'Metadata over 1 MiB.');
    const prefix = new Uint8Array(4 + encoded.length);
    new DataView(prefix.buffer).setUint32(0, encoded.length, true);
    prefix.set(encoded, 4);
    return prefix;
  }

  // Encrypts P = prefix || body || zeros || trailer, where the body must be exactly `size`
  // bytes; yields the header, then each chunk. One chunk is held back, so a body that turns
  // out longer or shorter throws SizeMismatch before the FINAL chunk is ever pushed.
  async function* encryptPlaintext(key, prefix, body, size, trailer) {
    const padded = paddedLength(prefix.length + size + trailer.length);
    const { state, header } = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
    yield header;
    let chunk = new Uint8Array(CHUNK_SIZE);
    let fill = 0;
    let held = null; // one chunk is held back: FINAL only after the body is checked
    function* feed(bytes) {
      let offset = 0;
      while (offset < bytes.length) {
        const take = Math.min(CHUNK_SIZE - fill, bytes.length - offset);
        chunk.set(bytes.subarray(offset, offset + take), fill);
        fill += take;
        offset += take;
        if (fill === CHUNK_SIZE) {
          if (held) yield sodium.crypto_secretstream_xchacha20poly1305_push(state, held, null, TAG_MESSAGE);
          held = chunk;
          chunk = new Uint8Array(CHUNK_SIZE);
          fill = 0;
        }
      }
    }
    yield* feed(prefix);
    let consumed = 0;
    for await (const piece of body) {
      consumed += piece.length;
      if (consumed > size) fail('SizeMismatch', 'The body is longer than declared.');
      yield* feed(piece);
    }
    if (consumed !== size) fail('SizeMismatch', 'The body is shorter than declared.');
    let padding = padded - prefix.length - size - trailer.length;
    while (padding > 0) {
      const zeros = new Uint8Array(Math.min(padding, CHUNK_SIZE));
      yield* feed(zeros);
      padding -= zeros.length;
    }
    yield* feed(trailer);
    if (fill) {
      if (held) yield sodium.crypto_secretstream_xchacha20poly1305_push(state, held, null, TAG_MESSAGE);
      held = chunk.slice(0, fill);
    }
    yield sodium.crypto_secretstream_xchacha20poly1305_push(state, held, null, TAG_FINAL);
  }

  // Yields the header, then each encrypted chunk. `body` is a sync or async iterable of
  // Uint8Array pieces of any sizes (e.g. File.slice reads) totalling metadata.size bytes
  // (none for a file that names a detached body).
  async function* encryptObject(dataKey, objectId, metadata, body = []) {
    const prefix = metadataPrefix(metadata);
    yield* encryptPlaintext(objectKey(dataKey, objectId), prefix, body, declaredSize(metadata), EMPTY);
  }

  // A file's detached body object (§5.6): metadata {"kind":"body","v":1}, then the `size`
  // bytes of `body`, zero padding and u64le(size). The file object naming this one's id
  // carries the size and SHA-256; write it after this one.
  async function* encryptDetachedBody(dataKey, objectId, body, size) {
    const trailer = bodyTrailer(size);
    const prefix = metadataPrefix(BODY_METADATA);
    yield* encryptPlaintext(objectKey(dataKey, objectId), prefix, body, size, trailer);
  }

  // Decrypts a whole object (pieces split anywhere); returns { metadata, body } or throws.
  // `bodySize`: for a detached body object, the size of the file object naming it. Without
  // it a body object's metadata is returned (read no further) and reading `body` throws.
  async function decryptObject(dataKey, objectId, ciphertextPieces, { bodySize } = {}) {
    const trailer = bodySize === undefined ? EMPTY : bodyTrailer(bodySize);
    const reader = new ExactReader(ciphertextPieces);
    const header = await reader.read(HEADER_BYTES);
    if (header.length < HEADER_BYTES) fail('TruncatedStream', 'The ciphertext ends in its header.');
    const state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(
      header,
      objectKey(dataKey, objectId),
    );
    let index = 0;
    let total = null;
    let lastCiphertextLength = 0;
    let lastPlainLength = 0;
    let finished = false;

    async function pull() {
      const atDeclaredEnd = total !== null && index === total - 1;
      const want = atDeclaredEnd ? lastCiphertextLength : CIPHERTEXT_CHUNK_SIZE;
      let ciphertext = await reader.read(want);
      if (!ciphertext.length) fail('TruncatedStream', 'The ciphertext ends before FINAL.');
      const short = ciphertext.length < want;
      if (short && total !== null) fail('TruncatedStream', 'The ciphertext ends mid-chunk.');
      if (short) {
        // Layout unknown yet: valid chunks carry 4096k plaintext bytes; the rest goes back
        // to the reader, to be reported as data after FINAL.
        const usable = Math.floor((ciphertext.length - CHUNK_OVERHEAD) / SMALL_UNIT) * SMALL_UNIT;
        if (usable <= 0) fail('TruncatedStream', 'The ciphertext ends mid-chunk.');
        reader.unread(ciphertext.subarray(usable + CHUNK_OVERHEAD));
        ciphertext = ciphertext.subarray(0, usable + CHUNK_OVERHEAD);
      }
      let result = false;
      try {
        result = sodium.crypto_secretstream_xchacha20poly1305_pull(state, ciphertext, null);
      } catch {
        result = false;
      }
      if (!result) fail('TamperedCiphertext', `Chunk ${index} failed authentication.`);
      if (result.tag === TAG_FINAL) {
        if (total !== null && !atDeclaredEnd) fail('EarlyFinal', 'FINAL before the declared end.');
        if (!(await reader.atEnd())) fail('DataAfterFinal', 'Bytes follow the FINAL chunk.');
        finished = true;
      } else if (result.tag === TAG_MESSAGE) {
        if (atDeclaredEnd) fail('MissingFinal', 'The chunk at the declared end is not FINAL.');
        if (short) fail('TruncatedStream', 'The ciphertext ends before FINAL.');
      } else {
        fail('TamperedCiphertext', 'A chunk carries an unexpected tag.');
      }
      index += 1;
      lastPlainLength = result.message.length;
      return result.message;
    }

    const plainParts = [];
    let have = 0;
    const need = async (length, tooShort) => {
      while (have < length) {
        if (finished) fail('LengthOutOfRange', tooShort);
        const plain = await pull();
        plainParts.push(plain);
        have += plain.length;
      }
    };
    await need(4, 'The object is too short to hold its metadata length.');
    let start = concatBytes(...plainParts);
    const metadataLength = new DataView(start.buffer, start.byteOffset).getUint32(0, true);
    if (metadataLength < MIN_METADATA_BYTES || metadataLength > MAX_METADATA_BYTES) {
      fail('LengthOutOfRange', 'The metadata length is out of range.');
    }
    const metadataEnd = 4 + metadataLength;
    await need(metadataEnd, 'The metadata length runs past the end of the object.');
    start = concatBytes(...plainParts);
    const metadata = parseMetadata(start.subarray(4, metadataEnd));
    const detached = metadata.kind === 'body';
    if (bodySize !== undefined && !detached) {
      fail('BadMetadata', "The object named as a file's body is not a detached body.");
    }
    if (detached && bodySize === undefined) {
      // As crypto/object_reader.py: the metadata only, nothing past it is read or checked.
      return {
        metadata,
        get body() {
          throw new RangeError('A detached body is read with the size its file object declares.');
        },
      };
    }
    const bodyEnd = metadataEnd + (detached ? bodySize : declaredSize(metadata));
    const padded = paddedLength(bodyEnd + trailer.length);
    total = chunkCount(padded);
    const lastLength = padded - (total - 1) * CHUNK_SIZE;
    lastCiphertextLength = lastLength + CHUNK_OVERHEAD;
    if (finished) {
      if (total > index) fail('EarlyFinal', 'FINAL before the declared end.');
      if (total < index || lastPlainLength !== lastLength) {
        fail('LengthOutOfRange', 'The padded length does not match the declared size.');
      }
    } else if (total <= index) {
      fail('MissingFinal', 'The stream continues past the declared end.');
    }
    // P = ... body | zeros | trailer (a detached body's last 8 bytes), the zeros and the
    // trailer checked in each piece in that order, as crypto/object_reader.py _body_part does.
    const trailerAt = padded - trailer.length;
    const bodyParts = [];
    const consume = (plain, startPosition) => {
      const bodyLength = Math.min(Math.max(bodyEnd - startPosition, 0), plain.length);
      const zerosEnd = Math.min(Math.max(trailerAt - startPosition, bodyLength), plain.length);
      for (let i = bodyLength; i < zerosEnd; i += 1) {
        if (plain[i] !== 0) fail('NonZeroPadding', 'The padding is not all zero bytes.');
      }
      for (let i = zerosEnd; i < plain.length; i += 1) {
        if (plain[i] !== trailer[startPosition + i - trailerAt]) {
          fail('LengthOutOfRange', "A detached body's length differs from its file's size.");
        }
      }
      if (bodyLength) bodyParts.push(plain.subarray(0, bodyLength));
    };
    consume(start.subarray(metadataEnd), metadataEnd);
    let position = start.length;
    while (!finished) {
      const plain = await pull();
      consume(plain, position);
      position += plain.length;
    }
    return { metadata, body: concatBytes(...bodyParts) };
  }

  return {
    keyId,
    generateDataKey,
    commitment,
    objectKey,
    lookupDigest,
    tipsterKeyPairFromSeed,
    sealDataKey,
    openDataKey,
    encryptObject,
    encryptDetachedBody,
    decryptObject,
  };
}
