#!/usr/bin/env bash
# The main job on embedded defaults: a throwaway local PostgreSQL (and, as the pipeline lands, the embedded
# Exchange simulator), migrated, then its status. Installs what is missing first.
# usage: jobs/dev/demo.sh [extra `snapsync demo` arguments]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
"$root/jobs/dev/install-deps.sh" >/dev/null
swift build -c release --product snapsync
exec "$root/.build/release/snapsync" demo "$@"
