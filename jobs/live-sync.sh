#!/usr/bin/env bash
# Live sync, every minute: one pass of `snapsync sync run --once` (outbox to Exchange, Exchange changes into the CRM).
# The lock makes a pass that outlasts the minute skip the next start (exit 75) instead of overlapping.
# A pass is short and takes no window: --until/--max-duration are refused, SNAPSYNC_WINDOW_UNTIL/MAX_DURATION ignored.
# usage: jobs/live-sync.sh [--config FILE] [-- SNAPSYNC-ARGS...]
# Environment, lock and exit codes: jobs/lib/common.sh and README.md, "Running from cron".
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

job_init live-sync "sync run --once" no no "$@"
job_run sync run --once
