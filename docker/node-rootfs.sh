#!/usr/bin/env bash
# Assemble a minimal root filesystem for a FROM-scratch image of one of this repo's own services
# (relay, mint): the project's pinned Node binary, the dynamic loader and every shared library
# `ldd` lists for it (at the same paths), /tmp, a /data owned by the service user (uid 1000),
# and a user table naming that user. No registry is needed.
# Usage: bash docker/node-rootfs.sh <rootfs-dir> <service-user-name>
set -euo pipefail
ROOTFS="$1"
USER_NAME="$2"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

NODE_BIN="$(readlink -f "$ROOT/node_modules/.bin/node")"
mkdir -p "$ROOTFS/usr/local/bin" "$ROOTFS/tmp" "$ROOTFS/data" "$ROOTFS/etc"
chmod 1777 "$ROOTFS/tmp"
chmod 0777 "$ROOTFS/data"
cp "$NODE_BIN" "$ROOTFS/usr/local/bin/node"
for lib in $(ldd "$NODE_BIN" | awk '/=>/ { print $3 } /^[ \t]*\/.*ld-linux/ { print $1 }'); do
  [ -f "$lib" ] && cp --parents -L "$lib" "$ROOTFS"
done
# A user table so tools inside the container can name uid 1000; node itself needs none.
printf 'root:x:0:0:root:/:/usr/sbin/nologin\n%s:x:1000:1000:%s:/data:/usr/sbin/nologin\n' \
  "$USER_NAME" "$USER_NAME" >"$ROOTFS/etc/passwd"
printf 'root:x:0:\n%s:x:1000:\n' "$USER_NAME" >"$ROOTFS/etc/group"
