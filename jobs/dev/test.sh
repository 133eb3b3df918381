#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine with Swift: installs what is missing, builds, runs every test
# against a real PostgreSQL (a throwaway cluster the tests start) and the Exchange simulator on loopback.
# usage: jobs/dev/test.sh [extra `swift test` arguments, e.g. --filter PostgresTests]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

python=$("$root/jobs/dev/install-deps.sh" | tail -n 1)
export SNAPSYNC_TEST_PYTHON="$python"       # exchangelib's interpreter, for the simulator fidelity tests
export SNAPSYNC_SHARED_DIR="${SNAPSYNC_SHARED_DIR:-$root/../shared}"   # the EWS schema and samples (the Graph ones are in Tests/Fixtures)
[[ -x $SNAPSYNC_SHARED_DIR/ews-schema/validate ]] || { echo "test.sh: the EWS schema is not at $SNAPSYNC_SHARED_DIR/ews-schema: set SNAPSYNC_SHARED_DIR (docs/development.md, Schemas and samples)" >&2; exit 2; }

# The code is formatted as .swift-format says (120 columns): `swift format -i -r Sources Tests Package.swift` fixes it.
swift format lint --strict --recursive Sources Tests Package.swift

# The build is warning-free: a warning in the project's own files fails the run (a clean build, as CI's, sees them
# all; an incremental one only those of the files it compiles).
build_log=$(mktemp)
trap 'rm -f "$build_log"' EXIT
swift build --build-tests 2>&1 | tee "$build_log"
warnings=$(grep -E "^$root/(Sources|Tests)/.*: warning:" "$build_log" | sort -u || true)
if [[ -n $warnings ]]; then
    echo "test.sh: the build has warnings:" >&2
    echo "$warnings" >&2
    exit 1
fi
# The Debian package (a release build of its own): PackageTests check it, install it and run it.
SNAPSYNC_TEST_PACKAGE=$("$root/jobs/dev/package.sh" | tail -n 1)
export SNAPSYNC_TEST_PACKAGE
# The run's output is kept so that a failure ends with its own lines: the issues are otherwise far above the tail
# of a long run, under the logs of the tests that ran after them.
log=$(mktemp)
trap 'rm -f "$build_log" "$log"' EXIT
set +e
swift test --skip-build "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if (( status != 0 )); then
    echo "test.sh: swift test exited with $status; the failures:" >&2
    grep -E '✘|error:|Fatal error|Crash|Assertion failed' "$log" | grep -v '^✘ Test run with' | head -n 60 >&2 || true
fi
exit "$status"
