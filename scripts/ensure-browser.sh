#!/usr/bin/env bash
# Make sure headless Chromium is installed for the web page tests (Debian packages chromium and
# chromium-driver). Idempotent: does nothing when chromium is already there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-browser: installing chromium and chromium-driver (apt-get)"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver
  exit 0
fi
echo "ensure-browser: chromium is missing and this shell cannot install it (not root or no apt)." >&2
echo "  Install it with: sudo apt-get install -y chromium chromium-driver" >&2
echo "  (the browser tests, pytest -m browser, need /usr/bin/chromium)" >&2
exit 1
