#!/bin/sh
# Rebuilds the browser form filler from npm (pinned in package-lock.json) into
# sync_server/static/vendor/webforms. Only needed when upgrading ODK Web Forms; the result is committed.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
rm -rf ../../sync_server/static/vendor/webforms
node build.mjs
rm -rf node_modules
