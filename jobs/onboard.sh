#!/usr/bin/env bash
# Onboarding: `snapsync onboard` brings new mailboxes into sync (run by hand or from cron after adding users).
# usage: jobs/onboard.sh [--until HH:MM] [--max-duration D] [--config FILE] [-- SNAPSYNC-ARGS...]
# Environment, lock and exit codes: jobs/lib/common.sh and README.md, "Running from cron".
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

job_init onboard "onboard" yes no "$@"
job_run onboard
