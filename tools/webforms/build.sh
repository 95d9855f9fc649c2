#!/bin/sh
# Rebuilds the browser form filler from npm (pinned in package-lock.json) into
# sync_server/static/webforms. Only needed when upgrading ODK Web Forms; the result is committed.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
rm -rf ../../sync_server/static/webforms
node build.mjs
rm -rf node_modules
