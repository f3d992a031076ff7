#!/bin/sh
# Installs the embedded model's runtime: node-llama-cpp with llama.cpp's CPU build for linux-x64
# (`deno task install:worker`), plus a GPU build on request (`deno task install:gpu`,
# LLAMA_GPU_PACKAGE=cuda|vulkan).
# npm rather than Deno installs it, because Deno's resolver would fetch every optional prebuilt
# (CUDA alone is hundreds of MB) where npm leaves them out.
set -eu
cd "$(dirname "$0")"
flags="--no-save --ignore-scripts --no-audit --no-fund --loglevel=error"
wanted=$(node -p "require('./package.json').dependencies['node-llama-cpp']")
installed=$(node -p "try { require('./node_modules/node-llama-cpp/package.json').version } catch { '' }")
# An up-to-date tree is left alone (and works offline); a version bump in package.json reinstalls.
if [ "$installed" != "$wanted" ]; then
  rm -rf node_modules
  # Every package comes from package-lock.json. `npm install` rather than `npm ci`: ci insists on
  # lock entries for all other platforms' prebuilts too, which a registry mirror may not carry.
  # shellcheck disable=SC2086
  npm install --omit=optional $flags
fi
if [ "${1:-}" = "gpu" ]; then
  gpu="${LLAMA_GPU_PACKAGE:-cuda}"
  case "$gpu" in
    cuda | vulkan) ;;
    *)
      echo "LLAMA_GPU_PACKAGE must be cuda or vulkan, not '$gpu'" >&2
      exit 2
      ;;
  esac
  # The prebuilt must match node-llama-cpp's version exactly; --no-save keeps CPU the default.
  # shellcheck disable=SC2086
  npm install --omit=optional $flags "@node-llama-cpp/linux-x64-$gpu@$wanted"
  echo "installed @node-llama-cpp/linux-x64-$gpu@$wanted: LLAMA_GPU=auto (the default) uses it"
fi
