#!/usr/bin/env bash
# Doctor report: runs `snapsync doctor` (configuration, PostgreSQL and Exchange reachability, sync health) and
# prints its report on stdout, which cron mails to MAILTO. Reports are also kept as files when a report directory
# is given (doctor-YYYYMMDDTHHMMSSZ.txt plus doctor-latest.txt; files older than SNAPSYNC_REPORT_KEEP_DAYS, default
# 30, are removed).
# usage: jobs/doctor-report.sh [--only-problems] [--report-dir DIR] [--config FILE] [-- SNAPSYNC-ARGS...]
#   --only-problems   print the report only when doctor does not exit 0 (cron then mails only problems)
#   --report-dir DIR  keep reports in DIR (env SNAPSYNC_REPORT_DIR)
# Environment, lock and exit codes: jobs/lib/common.sh and README.md, "Running from cron".
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

only_problems=no
report_dir=${SNAPSYNC_REPORT_DIR:-}
keep_days=${SNAPSYNC_REPORT_KEEP_DAYS:-30}
args=()
while (($#)); do
  case $1 in
    --only-problems) only_problems=yes ;;
    --report-dir) (($# >= 2)) || { args+=("$1"); break; }; report_dir=$2; shift ;;
    --report-dir=*) report_dir=${1#*=} ;;
    --) args+=("$@"); break ;;
    *) args+=("$1") ;;
  esac
  shift
done

job_init doctor-report "doctor" no no "${args[@]}"
if [[ -n $report_dir ]]; then
  [[ -d $report_dir && -w $report_dir ]] || job_exit "$EX_CONFIG" "report directory $report_dir is not a writable directory"
  [[ $keep_days =~ ^[0-9]+$ ]] || job_exit "$EX_USAGE" "SNAPSYNC_REPORT_KEEP_DAYS must be a number of days"
fi

report=$(mktemp "${TMPDIR:-/tmp}/snapsync-doctor.XXXXXX")
trap 'rm -f "$report"' EXIT
status=0
"$job_bin" doctor "${job_global_args[@]}" "${job_passthrough[@]}" >"$report" || status=$?
code=$(job_map_exit "$status")

if [[ -n $report_dir ]]; then
  name="doctor-$(date -u +%Y%m%dT%H%M%SZ).txt"
  cp "$report" "$report_dir/$name"
  chmod 0644 "$report_dir/$name"
  ln -sfn "$name" "$report_dir/doctor-latest.txt"
  find "$report_dir" -maxdepth 1 -type f -name 'doctor-*.txt' -mtime +"$keep_days" -delete
fi
if [[ $only_problems == no || $status -ne 0 ]]; then
  cat "$report"
fi
job_exit "$code" "snapsync doctor finished" "$status"
