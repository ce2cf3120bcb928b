#!/usr/bin/env bash
# Installs the Debian packages BlazeDB needs to build and test.
# Does nothing when every package is present; runs `apt-get update` first
# only when something is missing. Must run as root (or via sudo).
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libcaf-dev librocksdb-dev libcapnp-dev capnproto
  libspdlog-dev libfmt-dev libboost-test-dev libboost-dev
  libssl-dev openssl libzstd-dev libcli11-dev nlohmann-json3-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: must run as root to install: ${missing[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
