#!/usr/bin/env bash
# Installs the system packages the tests need, from Debian's archive, when they are missing.
# Idempotent: does nothing on a machine that already has them.
# With --check (npm test's `pretest`), installs nothing: names what is missing in one line, exits 1.
# With --build-tools, only what `npm install` needs to build the native addons (g++, make, python3):
# .ci/run installs these first, then the rest in the background while `npm install` runs.
set -euo pipefail
need=()
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if [ "${1:-}" != --build-tools ]; then
  # Debian's chromium drives the portal's end-to-end tests (playwright-core, test/portal).
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  # SoftHSM2, a real PKCS#11 token: the vault's key-encryption key in an HSM (test/vault/pkcs11-*.int.test.ts).
  command -v softhsm2-util >/dev/null 2>&1 || need+=(softhsm2)
  # PostgreSQL, the production storage adapter: the storage contract, crash and FHIR suites run on a
  # throw-away cluster too (test/support/test-postgres.ts). Debian keeps initdb off PATH, under
  # /usr/lib/postgresql/<major>/bin.
  if ! command -v initdb >/dev/null 2>&1 && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    need+=(postgresql)
  fi
  # iproute2 (`ip netns`, veth, bridge; `ss`) and openssl (a throw-away CA): the consortium on hosts of
  # its own, with TLS between members (test/network/netns-consortium.int.test.ts; needs root, as CI runs).
  command -v ip >/dev/null 2>&1 || need+=(iproute2)
  command -v openssl >/dev/null 2>&1 || need+=(openssl)
fi
if [ "${1:-}" = --check ]; then
  if [ ${#need[@]} -gt 0 ]; then
    echo "npm test needs Debian packages missing here: ${need[*]}; install them with \`bash scripts/install-system-deps.sh\` (as root)" >&2
    exit 1
  fi
  exit 0
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "== apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi
