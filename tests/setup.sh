#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine with Python 3.11:
# Debian's Chromium for the dashboard's browser test, then l2board with its
# test extras.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  sudo_if_needed=""
  [ "$(id -u)" -eq 0 ] || sudo_if_needed="sudo"
  $sudo_if_needed apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_if_needed apt-get install -y -qq chromium >/dev/null
fi
pip install ".[test]"
