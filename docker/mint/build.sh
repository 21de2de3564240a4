#!/usr/bin/env bash
# Build flashbox/mint:<tag> from this repository without any registry (FROM scratch):
#   1. esbuild bundles services/mint/src/main.ts (and its npm dependencies) into one ES module,
#      with require/__dirname defined for the CommonJS dependencies (ln-service), and the
#      TEST-ONLY fault-injection hook compiled out (FLASHBOX_FAULT_INJECTION=false);
#   2. the files dependencies read at run time go where the bundle looks for them: ln-service's
#      gRPC .proto files (/grpc/protos) and tiny-secp256k1's WebAssembly (/app/secp256k1.wasm);
#   3. the project's pinned Node binary (node_modules/.bin/node) and every shared library ldd
#      lists for it form the root filesystem;
#   4. docker build copies that context into an empty image.
# Usage: bash docker/mint/build.sh [tag]   (default tag 0.1.0). Prints the image ID last.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TAG="${1:-0.1.0}"
IMAGE="flashbox/mint:${TAG}"
CTX="$(mktemp -d)"
trap 'rm -rf "$CTX"' EXIT

cd "$ROOT"
BANNER="import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);"
"$ROOT/node_modules/.bin/esbuild" services/mint/src/main.ts \
  --bundle --platform=node --format=esm --target=node24 \
  --define:FLASHBOX_FAULT_INJECTION=false --minify-syntax \
  --banner:js="$BANNER" \
  --outfile="$CTX/app/mint.mjs" --legal-comments=none --log-level=warning
cp "$ROOT/node_modules/tiny-secp256k1/lib/secp256k1.wasm" "$CTX/app/secp256k1.wasm"

mkdir -p "$CTX/grpc"
cp -r "$ROOT/node_modules/lightning/grpc/protos" "$CTX/grpc/protos"

bash "$ROOT/docker/node-rootfs.sh" "$CTX/rootfs" mint

mkdir -p "$CTX/data"
cp "$ROOT/docker/mint/Dockerfile" "$CTX/Dockerfile"
docker build --quiet --label io.flashbox.component=mint -t "$IMAGE" "$CTX"
