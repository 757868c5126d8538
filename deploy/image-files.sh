#!/bin/sh
# What the runtime image holds, copied from a built workspace (the current
# directory) into $1: the root package files, bin, node_modules, and every
# workspace package as published — its package.json, dist and whatever else
# it ships (the inspector's static/) — without sources, tests and tsconfigs.
# The Dockerfile runs it after `npm prune --omit=dev`; test/deploy-compose.test.ts
# runs it (with ZOOID_IMAGE_NO_NODE_MODULES=1) and starts roles from the result.
set -eu
out=$1
mkdir -p "$out"
cp -a package.json package-lock.json bin "$out/"
[ "${ZOOID_IMAGE_NO_NODE_MODULES:-}" = 1 ] || cp -a node_modules "$out/"
for ws in libs/* services/*; do
  [ -f "$ws/package.json" ] || continue
  mkdir -p "$out/$ws"
  tar -C "$ws" --exclude=./src --exclude=./test --exclude='./tsconfig*.json' --exclude='*.tsbuildinfo' -cf - . | tar -C "$out/$ws" -xf -
done
