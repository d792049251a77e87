#!/bin/sh
# Bundles the browser intake, static/js/intake.mjs and everything it imports (our static/js
# modules and @noble/hashes from node_modules), into one ES module with the pinned esbuild:
# the report page loads it as one <script type="module" integrity> (app/web/vendor.py says why).
#
#   scripts/build_intake.sh OUTFILE [ENTRY]    paths relative to the repository root
#
# The one place the build command is written: `make install` builds static/build/intake.js
# with it, tests/web/test_api_vendor_assets.py rebuilds into a temporary directory and compares
# the bytes, bench/intake_js.py bundles static/js/sha256.mjs alone with it. ES2022 is what the
# sources are written in, so nothing is rewritten (Tor Browser's Firefox ESR 128 and 140 run
# all of it); an older target would turn @noble/hashes' class fields into slower assignments.
set -eu
cd "$(dirname "$0")/.."
exec node_modules/.bin/esbuild "${2:-static/js/intake.mjs}" --bundle --format=esm \
  --target=es2022 --charset=utf8 --legal-comments=inline --log-level=warning --outfile="$1"
