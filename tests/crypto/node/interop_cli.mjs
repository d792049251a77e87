// Test driver: reads one JSON request on stdin, writes one JSON response on stdout.
// Binary values travel as hex. Used by tests/crypto/test_crypto_node_interop.py.
import sodium from 'libsodium-wrappers';
import { createProtocol, ProtocolError } from '../../../static/js/tipline_protocol.mjs';

await sodium.ready;
const protocol = createProtocol(sodium);
const hex = (bytes) => sodium.to_hex(bytes);
const bin = (text) => sodium.from_hex(text);
const uuidText = (h) => [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join('-');

// Splits bytes into pieces of the given sizes, cycling, to exercise re-framing.
function* pieces(bytes, sizes) {
  let offset = 0;
  for (let i = 0; offset < bytes.length; i += 1) {
    const size = sizes[i % sizes.length];
    yield bytes.subarray(offset, offset + size);
    offset += size;
  }
}

async function collect(iterable) {
  const parts = [];
  for await (const part of iterable) parts.push(part);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

// A decrypted object's body as hex, or why it cannot be read (a body object without a size).
function bodyHex(opened) {
  try {
    return hex(opened.body);
  } catch (error) {
    if (error instanceof RangeError) return { unreadable: error.message };
    throw error;
  }
}

async function attempt(action) {
  try {
    return await action();
  } catch (error) {
    if (error instanceof ProtocolError) return { error: error.name, message: error.message };
    throw error;
  }
}

const operations = {
  // Node plays the submitting browser: fresh data keys, commitments, sealed keys, objects.
  async produce({ tip_id, recipients, objects }) {
    const tipId = bin(tip_id);
    const dataKeys = { thread: protocol.generateDataKey(), internal: protocol.generateDataKey() };
    const commits = {};
    for (const scope of Object.keys(dataKeys)) {
      commits[scope] = hex(protocol.commitment(dataKeys[scope], tipId, scope));
    }
    const sealedKeys = [];
    for (const recipient of recipients) {
      const publicKey = bin(recipient.public_key);
      for (const scope of recipient.scopes) {
        const sealed = protocol.sealDataKey(dataKeys[scope], tipId, publicKey);
        sealedKeys.push({ key_id: protocol.keyId(publicKey), scope, sealed: hex(sealed) });
      }
    }
    const encrypted = [];
    for (const object of objects) {
      const body = pieces(bin(object.body ?? ''), [10007, 3, 65536]);
      const key = dataKeys[object.scope];
      const id = bin(object.object_id);
      // An object with `body_size` is a detached body (metadata comes from the module).
      const stream = object.body_size === undefined
        ? protocol.encryptObject(key, id, object.metadata, body)
        : protocol.encryptDetachedBody(key, id, body, object.body_size);
      const ciphertext = await collect(stream);
      encrypted.push({ object_id: object.object_id, scope: object.scope, ciphertext: hex(ciphertext) });
    }
    return { commits, sealed_keys: sealedKeys, objects: encrypted };
  },

  // Node plays a recipient: open sealed keys and decrypt what Python produced.
  async open({ tip_id, public_key, secret_key, commits, sealed_keys, objects }) {
    const tipId = bin(tip_id);
    const dataKeys = {};
    for (const entry of sealed_keys) {
      const result = await attempt(() =>
        protocol.openDataKey(bin(entry.sealed), {
          tipId,
          publicKey: bin(public_key),
          privateKey: bin(secret_key),
          scope: entry.scope,
          expectedCommitment: bin(commits[entry.scope]),
        }),
      );
      if (result.error) return result;
      dataKeys[entry.scope] = result;
    }
    const opened = [];
    for (const object of objects) {
      const ciphertext = pieces(bin(object.ciphertext), [999, 70001, 1]);
      // `body_size`: read as the detached body of a file of that size; `by_file`: read as
      // the body named by the file object at that index in `objects`, with its size.
      let options = {};
      if (object.body_size !== undefined) options = { bodySize: object.body_size };
      if (object.by_file !== undefined) {
        const file = opened[object.by_file].metadata;
        if (file.body !== uuidText(object.object_id)) throw new Error('not the body it names');
        options = { bodySize: file.size };
      }
      const result = await attempt(() =>
        protocol.decryptObject(dataKeys[object.scope], bin(object.object_id), ciphertext, options),
      );
      opened.push(result.error ? result : { metadata: result.metadata, body: bodyHex(result) });
    }
    return { objects: opened };
  },

  // Each case must be rejected with the named error (`body_size`: read as a detached body).
  async reject({ cases }) {
    const results = [];
    for (const item of cases) {
      const options = item.body_size === undefined ? {} : { bodySize: item.body_size };
      const result = await attempt(async () => {
        const opened = await protocol.decryptObject(
          bin(item.data_key),
          bin(item.object_id),
          [bin(item.ciphertext)],
          options,
        );
        return { body: bodyHex(opened) };
      });
      results.push(result.error ?? 'accepted');
    }
    return { errors: results };
  },

  // A detached body of `length` bytes declared as `size`: what encryptDetachedBody emits
  // before it throws, and the tag of every chunk it emitted.
  async mismatch({ data_key, object_id, cases }) {
    const results = [];
    for (const { length, size } of cases) {
      const body = pieces(new Uint8Array(length).fill(7), [65536 * 3 + 5]);
      const key = bin(data_key);
      const emitted = [];
      let error = null;
      try {
        for await (const piece of protocol.encryptDetachedBody(key, bin(object_id), body, size)) {
          emitted.push(piece);
        }
      } catch (caught) {
        if (!(caught instanceof ProtocolError)) throw caught;
        error = caught.name;
      }
      const tags = [];
      if (emitted.length) {
        const state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(
          emitted[0],
          protocol.objectKey(key, bin(object_id)),
        );
        for (const chunk of emitted.slice(1)) {
          tags.push(sodium.crypto_secretstream_xchacha20poly1305_pull(state, chunk, null).tag);
        }
      }
      results.push({ error, tags, ciphertext: hex(await collect(emitted)) });
    }
    return { results };
  },

  async derive({ public_key, data_key, tip_id, object_id, pepper, canonical, seed }) {
    const dataKey = bin(data_key);
    const tipsterKeys = protocol.tipsterKeyPairFromSeed(bin(seed));
    return {
      key_id: protocol.keyId(bin(public_key)),
      commit_thread: hex(protocol.commitment(dataKey, bin(tip_id), 'thread')),
      commit_internal: hex(protocol.commitment(dataKey, bin(tip_id), 'internal')),
      object_key: hex(protocol.objectKey(dataKey, bin(object_id))),
      lookup: hex(protocol.lookupDigest(bin(pepper), bin(canonical))),
      tipster_secret_key: hex(tipsterKeys.privateKey),
      tipster_public_key: hex(tipsterKeys.publicKey),
    };
  },

  // Argon2id from the sumo build (the standard build has no crypto_pwhash).
  async argon2({ cases }) {
    const sumo = (await import('libsodium-wrappers-sumo')).default;
    await sumo.ready;
    return {
      outputs: cases.map((c) =>
        sumo.to_hex(
          sumo.crypto_pwhash(
            c.length,
            sumo.from_hex(c.password),
            sumo.from_hex(c.salt),
            c.opslimit,
            c.memlimit,
            sumo.crypto_pwhash_ALG_ARGON2ID13,
          ),
        ),
      ),
    };
  },
};

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const operation = operations[request.op];
if (!operation) throw new Error(`unknown op ${request.op}`);
process.stdout.write(JSON.stringify(await operation(request)));
