#!/usr/bin/env bash
# Optional test tools, not needed to build or use tpusim: headless Chromium for the test that
# renders the HTML report (tests/report, "reports: html renders") and clang-format for the format
# check (scripts/lint.sh, "lint: clang-format"), yosys for the synthesis check of the RTL
# ("rtl: yosys synthesizes tpu_top 4x4", scripts/yosys_area.sh); each test is skipped without its
# tool.
# Idempotent: quiet when everything is installed. Works as root or with sudo.
set -euo pipefail
PKGS=(chromium clang-format yosys)
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
