#!/usr/bin/env bash
# Nightly inbound snapshot: pages every item out of Exchange into the CRM, within the night's window; a run
# cut short by the window exits 3 and the next night resumes where it stopped.
# usage: jobs/nightly-inbound.sh [--until HH:MM] [--max-duration D] [--config FILE] [--mailbox A]... [--workers N] [-- SNAPSYNC-ARGS...]
# Environment, lock and exit codes: jobs/lib/common.sh and README.md, "Running from cron".
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

job_init nightly-inbound "snapshot inbound" yes yes "$@"
job_run snapshot inbound
