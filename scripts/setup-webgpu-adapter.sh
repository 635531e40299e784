#!/usr/bin/env bash
# Provides a CPU WebGPU adapter for Dawn (the `webgpu` npm package) on a machine without a GPU:
# SwiftShader, Google's Vulkan-on-CPU driver, taken out of Debian's chromium-common package
# (libvk_swiftshader.so, its ICD manifest, and the Vulkan loader libvulkan.so.1 built with it).
# Nothing is installed system-wide: the files are extracted under .cache/webgpu-adapter/ and the
# caller points the Vulkan loader at them through VK_ICD_FILENAMES and LD_LIBRARY_PATH.
# Debian's own lavapipe (mesa-vulkan-drivers) is too old for Dawn, hence SwiftShader.
#
# Idempotent: a second run finds the cache and downloads nothing. On success it prints the two
# environment assignments (KEY=VALUE, one a line) for the process that runs the WebGPU tests;
# on failure it exits non-zero with the reason on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
cache="${RESGRAD_WEBGPU_ADAPTER_CACHE:-$root/.cache/webgpu-adapter}"
lib="$cache/usr/lib/chromium"
need=(libvk_swiftshader.so vk_swiftshader_icd.json libvulkan.so.1)

have_all() {
  for f in "${need[@]}"; do [[ -s "$lib/$f" ]] || return 1; done
}

if ! have_all; then
  command -v apt-get >/dev/null || { echo "setup-webgpu-adapter: apt-get not found (SwiftShader is taken from Debian's chromium-common)" >&2; exit 1; }
  command -v dpkg-deb >/dev/null || { echo "setup-webgpu-adapter: dpkg-deb not found" >&2; exit 1; }
  mkdir -p "$cache/deb"
  # apt-get download writes into the current directory; the _apt sandbox cannot write here as
  # root, which only yields a warning.
  if ! ls "$cache"/deb/chromium-common_*.deb >/dev/null 2>&1; then
    download() { (cd "$cache/deb" && apt-get download chromium-common 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2; exit "${PIPESTATUS[0]}"); }
    # A fresh machine may have no package lists yet: refresh them once (as root) and retry.
    if ! download; then
      if [[ $(id -u) -eq 0 ]] && apt-get update -qq >&2 && download; then :; else
        echo "setup-webgpu-adapter: 'apt-get download chromium-common' failed (run 'apt-get update' first?)" >&2
        exit 1
      fi
    fi
  fi
  deb="$(ls "$cache"/deb/chromium-common_*.deb | head -n1)"
  tmp="$(mktemp -d "$cache/extract.XXXXXX")"
  dpkg-deb -x "$deb" "$tmp"
  mkdir -p "$lib"
  for f in "${need[@]}"; do
    [[ -s "$tmp/usr/lib/chromium/$f" ]] || { echo "setup-webgpu-adapter: $f is missing from $deb" >&2; rm -rf "$tmp"; exit 1; }
    # rename is atomic: a concurrent run never sees a half-written library
    mv -f "$tmp/usr/lib/chromium/$f" "$lib/$f"
  done
  rm -rf "$tmp" "$cache/deb"
fi

echo "VK_ICD_FILENAMES=$lib/vk_swiftshader_icd.json"
echo "LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
