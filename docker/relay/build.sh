#!/usr/bin/env bash
# Build flashbox/relay:<tag> from this repository without any registry (FROM scratch):
#   1. esbuild bundles services/relay/src/main.ts (ws, zod, nostr-tools, nostr-wasm with its
#      WebAssembly inlined) into one ES module, and the signature-verification thread
#      (services/relay/src/verify-worker.ts) into verify-worker.mjs beside it, where the relay's
#      pool looks for it;
#   2. the project's pinned Node binary (node_modules/.bin/node) and every shared library ldd
#      lists for it form the root filesystem (node:sqlite is built into Node: nothing native);
#   3. docker build copies that context into an empty image.
# Usage: bash docker/relay/build.sh [tag]   (default tag 0.1.0). Prints the image ID last.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TAG="${1:-0.1.0}"
IMAGE="flashbox/relay:${TAG}"
CTX="$(mktemp -d)"
trap 'rm -rf "$CTX"' EXIT

cd "$ROOT"
BANNER="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
# ws loads bufferutil/utf-8-validate only if installed (optional speed-ups): leave them out.
"$ROOT/node_modules/.bin/esbuild" services/relay/src/main.ts \
  --bundle --platform=node --format=esm --target=node24 \
  --external:bufferutil --external:utf-8-validate \
  --banner:js="$BANNER" \
  --outfile="$CTX/app/relay.mjs" --legal-comments=none --log-level=warning
"$ROOT/node_modules/.bin/esbuild" services/relay/src/verify-worker.ts \
  --bundle --platform=node --format=esm --target=node24 \
  --banner:js="$BANNER" \
  --outfile="$CTX/app/verify-worker.mjs" --legal-comments=none --log-level=warning

bash "$ROOT/docker/node-rootfs.sh" "$CTX/rootfs" relay

cp "$ROOT/docker/relay/Dockerfile" "$CTX/Dockerfile"
docker build --quiet --label io.flashbox.component=relay -t "$IMAGE" "$CTX"
