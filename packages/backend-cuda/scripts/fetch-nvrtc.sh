#!/usr/bin/env bash
# Fetches Debian's non-free NVRTC (libnvrtc11.2 + its builtins) into a cache folder, without
# touching the system: a private apt configuration (its own sources list with the non-free
# component, its own lists and archives under the cache) runs `apt-get download`, and
# `dpkg -x` unpacks the packages there. CI then points the NVRTC binding at the result to
# exercise koffi -> NVRTC without a GPU. Best effort: prints why and exits 0 when it cannot
# (no apt-get, no network); the NVRTC check then skips with that reason.
set -uo pipefail
CACHE="${RESGRAD_NVRTC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/resgrad/nvrtc-deb}"
LIB="$CACHE/root/usr/lib/x86_64-linux-gnu"
if ls "$LIB"/libnvrtc.so.* >/dev/null 2>&1 && ls "$LIB"/libnvrtc-builtins.so.* >/dev/null 2>&1; then
  echo "fetch-nvrtc: cached at $LIB"
  exit 0
fi
command -v apt-get >/dev/null || { echo "fetch-nvrtc: no apt-get; skipping"; exit 0; }
[ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] || { echo "fetch-nvrtc: not amd64; skipping"; exit 0; }
SUITE="$(. /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-bookworm}")"
mkdir -p "$CACHE/lists/partial" "$CACHE/archives/partial" "$CACHE/root"
echo "deb http://deb.debian.org/debian $SUITE non-free" > "$CACHE/sources.list"
APT=(-o "Dir::Etc::sourcelist=$CACHE/sources.list" -o "Dir::Etc::sourceparts=-" -o "Dir::State::Lists=$CACHE/lists"
     -o "Dir::Cache=$CACHE" -o "Dir::Cache::archives=$CACHE/archives" -o "APT::Sandbox::User=root" -o "Debug::NoLocking=1")
apt-get "${APT[@]}" update >"$CACHE/update.log" 2>&1 || { echo "fetch-nvrtc: apt-get update failed (see $CACHE/update.log); skipping"; exit 0; }
PKGS=$(apt-cache "${APT[@]}" search --names-only '^libnvrtc' | awk '{print $1}' | grep -E '^libnvrtc(-builtins)?[0-9]' | tr '\n' ' ')
[ -n "$PKGS" ] || { echo "fetch-nvrtc: no libnvrtc package in $SUITE non-free; skipping"; exit 0; }
( cd "$CACHE" && apt-get "${APT[@]}" download $PKGS >"$CACHE/download.log" 2>&1 ) || { echo "fetch-nvrtc: download of $PKGS failed (see $CACHE/download.log); skipping"; exit 0; }
for d in "$CACHE"/*.deb; do dpkg -x "$d" "$CACHE/root"; done
ls "$LIB"/libnvrtc.so.* >/dev/null 2>&1 && echo "fetch-nvrtc: $PKGS-> $LIB" || echo "fetch-nvrtc: packages unpacked but no libnvrtc.so found"
exit 0
