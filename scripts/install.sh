#!/usr/bin/env bash
# Installs what tpusim needs from Debian's packages, idempotently: quiet when nothing is missing.
# Works as root (CI) or as a user with sudo.
set -euo pipefail
PKGS=(build-essential cmake pkg-config libsystemc-dev verilator libeigen3-dev libfmt-dev catch2
      libcli11-dev libyaml-cpp-dev nlohmann-json3-dev python3 python3-venv libdnnl-dev
      pybind11-dev python3-dev)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "installing: ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
