#!/usr/bin/env bash
# The main job on embedded defaults: a throwaway local PostgreSQL and the Exchange simulator (exchange-sim), seeded,
# then an inbound and an outbound snapshot with their reports and a verify. Installs what is missing first.
# usage: jobs/dev/demo.sh [extra `snapsync demo` arguments, e.g. --keep to explore afterwards, --stop to end that]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
"$root/jobs/dev/install-deps.sh" >/dev/null
swift build -c release --product snapsync
swift build -c release --product exchange-sim
exec "$root/.build/release/snapsync" demo "$@"
