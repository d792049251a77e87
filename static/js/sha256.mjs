// Streaming SHA-256 for the evidence hash of files read with File.slice, piece by piece.
// SubtleCrypto only hashes a whole buffer (files can be gigabytes) and the standard
// libsodium.js build has no crypto_hash_sha256_init/update/final, so the hashing is the
// audited @noble/hashes, pinned in package-lock.json; this only keeps the small interface
// upload.mjs uses. The bare specifiers resolve from node_modules, in Node and for esbuild,
// which bundles @noble/hashes into the page's one intake script (scripts/build_intake.sh).
// Checked against Python's hashlib in tests/web/test_api_js_client.py.

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export class Sha256 {
  constructor() {
    this.hash = sha256.create();
  }

  // Feeds bytes (a Uint8Array of any length); returns this.
  update(bytes) {
    this.hash.update(bytes);
    return this;
  }

  // Returns the 32-byte digest; the object cannot be updated afterwards.
  digest() {
    return this.hash.digest();
  }

  hexDigest() {
    return bytesToHex(this.digest());
  }
}
