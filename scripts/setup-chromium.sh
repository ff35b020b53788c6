#!/usr/bin/env bash
# setup-chromium.sh — install a headless browser for the report page's test
# (tests/sweep_html.rs): Debian's `chromium` package, only when /usr/bin/chromium is
# missing. Runs `apt-get update` once, and only when apt knows no candidate for the
# package. Idempotent: a second run only checks. Prints one line:
#   chromium=/usr/bin/chromium
# Needs root (or sudo without a password), as in CI.
set -euo pipefail
bin=/usr/bin/chromium

if [ ! -x "$bin" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "setup-chromium.sh: step 'install chromium' failed: $bin is missing and installing it needs root (or sudo without a password)" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null; then
    echo "setup-chromium.sh: step 'install chromium' failed: $bin is missing and there is no apt-get (a Debian-based system is expected)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Wait for another apt (a parallel job) rather than fail on its lock.
  apt_opts=(-o DPkg::Lock::Timeout=600)
  if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    echo "setup-chromium.sh: apt-get update (no candidate for chromium yet)" >&2
    "${as_root[@]}" apt-get "${apt_opts[@]}" update -q >&2 || {
      echo "setup-chromium.sh: step 'apt-get update' failed" >&2
      exit 1
    }
  fi
  echo "setup-chromium.sh: apt-get install chromium (once; ~1-3 min)" >&2
  "${as_root[@]}" apt-get "${apt_opts[@]}" install -y -q --no-install-recommends chromium >&2 || {
    echo "setup-chromium.sh: step 'apt-get install chromium' failed" >&2
    exit 1
  }
fi
if ! "$bin" --version 2>/dev/null >&2; then
  echo "setup-chromium.sh: step 'check chromium' failed: $bin --version did not run" >&2
  exit 1
fi
echo "chromium=$bin"
