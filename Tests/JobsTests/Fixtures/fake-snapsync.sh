#!/usr/bin/env bash
# Test stand-in for snapsync: appends its arguments (one per line, then "--end--") to $FAKE_SNAPSYNC_RECORD,
# prints $FAKE_SNAPSYNC_STDOUT, optionally signals that it started and waits for a release file, then exits with
# $FAKE_SNAPSYNC_EXIT (default 0).
set -euo pipefail
{ printf '%s\n' "$@"; echo "--end--"; } >>"$FAKE_SNAPSYNC_RECORD"
if [[ -n ${FAKE_SNAPSYNC_STDOUT:-} ]]; then printf '%s\n' "$FAKE_SNAPSYNC_STDOUT"; fi
if [[ -n ${FAKE_SNAPSYNC_STARTED:-} ]]; then : >"$FAKE_SNAPSYNC_STARTED"; fi
if [[ -n ${FAKE_SNAPSYNC_RELEASE:-} ]]; then
  for _ in $(seq 6000); do  # up to 5 minutes: a loaded machine must not release it early
    [[ -e $FAKE_SNAPSYNC_RELEASE ]] && break
    sleep 0.05
  done
fi
exit "${FAKE_SNAPSYNC_EXIT:-0}"
