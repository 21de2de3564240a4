#!/usr/bin/env bash
# Build flashbox/relay:<tag> from this repository without any registry (FROM scratch):
#   1. esbuild bundles services/relay/src/main.ts (ws, zod, nostr-tools, nostr-wasm with its
#      WebAssembly inlined) into one ES module;
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

NODE_BIN="$(readlink -f "$ROOT/node_modules/.bin/node")"
mkdir -p "$CTX/rootfs/usr/local/bin" "$CTX/rootfs/tmp" "$CTX/rootfs/data" "$CTX/rootfs/etc"
chmod 1777 "$CTX/rootfs/tmp"
chmod 0777 "$CTX/rootfs/data"
cp "$NODE_BIN" "$CTX/rootfs/usr/local/bin/node"
# The dynamic loader and every library node links against, at the same paths.
for lib in $(ldd "$NODE_BIN" | awk '/=>/ { print $3 } /^[ \t]*\/.*ld-linux/ { print $1 }'); do
  [ -f "$lib" ] && cp --parents -L "$lib" "$CTX/rootfs"
done
printf 'root:x:0:0:root:/:/usr/sbin/nologin\nrelay:x:1000:1000:relay:/data:/usr/sbin/nologin\n' >"$CTX/rootfs/etc/passwd"
printf 'root:x:0:\nrelay:x:1000:\n' >"$CTX/rootfs/etc/group"

cp "$ROOT/docker/relay/Dockerfile" "$CTX/Dockerfile"
docker build --quiet --label io.flashbox.component=relay -t "$IMAGE" "$CTX"
