#!/usr/bin/env bash
# reports:html_renders — headless Chromium opens DIR/report.html (written by
# reports:tpusim_report), takes a screenshot that must be a non-empty PNG, and logs no JavaScript
# or resource error (the page needs no JavaScript at all). Skips (77) without Chromium
# (scripts/install_test_tools.sh installs it).
set -euo pipefail
OUT=$1
BROWSER=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then BROWSER=$(command -v "$b"); break; fi
done
if [ -z "$BROWSER" ]; then
  echo "SKIP: no chromium (scripts/install_test_tools.sh installs it)"
  exit 77
fi
[ -s "$OUT/report.html" ] || { echo "FAIL: $OUT/report.html missing (reports:tpusim_report)"; exit 1; }
SHOT=$OUT/report_screenshot.png
LOG=$OUT/chromium.log
PROFILE=$(mktemp -d)
trap 'rm -rf "$PROFILE"' EXIT
rm -f "$SHOT"
timeout 120 "$BROWSER" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
  --no-first-run --user-data-dir="$PROFILE" --enable-logging=stderr --v=0 \
  --window-size=1200,4000 --screenshot="$SHOT" "file://$(cd "$OUT" && pwd)/report.html" >"$LOG" 2>&1 || {
  echo "FAIL: chromium exited $?"; tail -20 "$LOG"; exit 1; }
[ -s "$SHOT" ] || { echo "FAIL: no screenshot"; tail -20 "$LOG"; exit 1; }
if [ "$(head -c 8 "$SHOT" | od -An -tx1 | tr -d ' \n')" != "89504e470d0a1a0a" ]; then
  echo "FAIL: $SHOT is not a PNG"; exit 1
fi
size=$(stat -c %s "$SHOT")
[ "$size" -gt 20000 ] || { echo "FAIL: screenshot only $size bytes (blank page?)"; exit 1; }
if grep -E "Uncaught|CONSOLE\(|ERR_FILE_NOT_FOUND|Failed to load resource|SyntaxError" "$LOG"; then
  echo "FAIL: the page logged errors (above)"; exit 1
fi
echo "ok: $SHOT ($size bytes), no page errors"
