#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine with Swift: installs what is missing, builds, runs every test
# against a real PostgreSQL (a throwaway cluster the tests start) and the Exchange simulator on loopback.
# usage: jobs/dev/test.sh [extra `swift test` arguments, e.g. --filter PostgresTests]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

python=$("$root/jobs/dev/install-deps.sh" | tail -n 1)
export SNAPSYNC_TEST_PYTHON="$python"       # exchangelib's interpreter, for the simulator fidelity tests
export SNAPSYNC_SHARED_DIR="${SNAPSYNC_SHARED_DIR:-$root/../shared}"   # EWS schema and samples
[[ -d $SNAPSYNC_SHARED_DIR/ews-schema ]] || { echo "test.sh: $SNAPSYNC_SHARED_DIR/ews-schema not found (set SNAPSYNC_SHARED_DIR)" >&2; exit 2; }

swift build --build-tests
swift test --skip-build "$@"
