#!/usr/bin/env bash
# Install the system programs the tests need when they are missing: Java (ODK Validate runs on
# it), PostgreSQL (initdb/pg_ctl for a throwaway test cluster), Chromium (browser tests),
# Node.js (ODK's JavaScript form engine), nginx (the deployment guide's HTTPS site is run in
# front of a live server), and for the workshop report's PDF (WeasyPrint) Pango with HarfBuzz and
# the Noto fonts for Bengali and Devanagari. Debian packages only; nothing else is downloaded.
set -euo pipefail

need=()
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
command -v runuser >/dev/null 2>&1 || need+=(util-linux)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || need+=(nginx)
ldconfig -p 2>/dev/null | grep libpango-1.0.so.0 >/dev/null || need+=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)
[ -f /usr/share/fonts/truetype/noto/NotoSansBengali-Regular.ttf ] || need+=(fonts-noto-core)

if [ ${#need[@]} -gt 0 ]; then
  echo "Installing system packages: ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
