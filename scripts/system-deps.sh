#!/usr/bin/env bash
# Debian packages the tests and the demo use: Prometheus and promtool (alert rules,
# the Prometheus e2e test), kcat, and chromium (renders the HTML briefing in the
# briefing e2e test). Installed only when missing.
set -euo pipefail
missing=()
command -v promtool >/dev/null || missing+=(prometheus)
command -v kcat >/dev/null || missing+=(kcat)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v chromium >/dev/null || missing+=(chromium)
if ((${#missing[@]} == 0)); then exit 0; fi
if [[ $(id -u) -ne 0 ]]; then
  echo "missing Debian packages: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
