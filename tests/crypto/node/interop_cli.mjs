// Test driver: reads one JSON request on stdin, writes one JSON response on stdout.
// Binary values travel as hex. Used by tests/crypto/test_node_interop.py.
import sodium from 'libsodium-wrappers';
import { createProtocol, ProtocolError } from '../../../static/js/tipline_protocol.mjs';

await sodium.ready;
const protocol = createProtocol(sodium);
const hex = (bytes) => sodium.to_hex(bytes);
const bin = (text) => sodium.from_hex(text);

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
      const ciphertext = await collect(
        protocol.encryptObject(dataKeys[object.scope], bin(object.object_id), object.metadata, body),
      );
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
      const result = await attempt(() =>
        protocol.decryptObject(dataKeys[object.scope], bin(object.object_id), ciphertext),
      );
      opened.push(
        result.error ? result : { metadata: result.metadata, body: hex(result.body) },
      );
    }
    return { objects: opened };
  },

  // Each case must be rejected with the named error.
  async reject({ cases }) {
    const results = [];
    for (const item of cases) {
      const result = await attempt(() =>
        protocol.decryptObject(bin(item.data_key), bin(item.object_id), [bin(item.ciphertext)]),
      );
      results.push(result.error ?? 'accepted');
    }
    return { errors: results };
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
