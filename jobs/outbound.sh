#!/usr/bin/env bash
# Outbound snapshot: pages CRM records out of PostgreSQL into Exchange, within a window; a run cut short by the
# window exits 3 and the next run resumes where it stopped.
# usage: jobs/outbound.sh [--until HH:MM] [--max-duration D] [--config FILE] [--mailbox A]... [--workers N] [-- SNAPSYNC-ARGS...]
# Environment, lock and exit codes: jobs/lib/common.sh and README.md, "Running from cron".
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

job_init outbound "snapshot outbound" yes yes "$@"
job_run snapshot outbound
