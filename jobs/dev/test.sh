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
# The Debian package (a release build of its own): PackageTests check it, install it and run it.
SNAPSYNC_TEST_PACKAGE=$("$root/jobs/dev/package.sh" | tail -n 1)
export SNAPSYNC_TEST_PACKAGE
# The run's output is kept so that a failure ends with its own lines: the issues are otherwise far above the tail
# of a long run, under the logs of the tests that ran after them.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
swift test --skip-build "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if (( status != 0 )); then
    echo "test.sh: swift test exited with $status; the failures:" >&2
    grep -E '✘|error:|Fatal error|Crash|Assertion failed' "$log" | grep -v '^✘ Test run with' | head -n 60 >&2 || true
fi
exit "$status"
