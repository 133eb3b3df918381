# shellcheck shell=bash
# Shared code of the cron jobs in jobs/ (sourced by each job, never run on its own).
#
# A job: parses its window and options from arguments or the environment, takes a per-job flock so runs never
# overlap (a second run exits 75 at once, without calling snapsync), runs one snapsync command, and ends with one
# summary line on stderr and snapsync's exit code (see the exit-code table in README.md, "Running from cron").
#
# Environment (arguments win over the environment):
#   SNAPSYNC_BIN            the snapsync binary (default: `snapsync` on PATH)
#   SNAPSYNC_CONFIG         config file, passed as --config
#   SNAPSYNC_WINDOW_UNTIL   HH:MM wall-clock end of the window (--until)
#   SNAPSYNC_MAX_DURATION   longest run, e.g. 90m or 2h (--max-duration)
#   SNAPSYNC_MAILBOXES      space-separated mailboxes for the snapshot jobs (--mailbox, repeatable)
#   SNAPSYNC_WORKERS        concurrent mailboxes for the snapshot jobs (--workers)
#   SNAPSYNC_LOG_FORMAT     text|json|auto (--log-format; default auto: json when stderr is not a terminal)
#   SNAPSYNC_METRICS_DIR    node_exporter textfile directory; writes snapsync-JOB.prom there (--metrics-file)
#   SNAPSYNC_LOCK_DIR       where the job locks live (default /run/lock when writable, else /tmp)

# Exit codes (the shared contract; README.md has the table).
readonly EX_OK=0 EX_FAILURE=1 EX_WINDOW_ENDED=3 EX_PARTIAL=4 EX_USAGE=64 EX_UNAVAILABLE=69 EX_LOCKED=75 EX_CONFIG=78

job_name=""
job_started=0
job_bin=""
job_log_format=""
job_window_args=()    # --until / --max-duration, for the commands that take a window
job_option_args=()    # --mailbox / --workers, for the snapshot commands
job_passthrough=()    # everything after `--`, appended verbatim
job_global_args=()    # --config / --log-format / --metrics-file, for every command

# The outcome word and the summary line's level for an exit code.
job_outcome() {
  case $1 in
    "$EX_OK") echo "success info" ;;
    "$EX_WINDOW_ENDED") echo "window-ended info" ;;
    "$EX_PARTIAL") echo "partial-failure warning" ;;
    "$EX_USAGE") echo "usage-error error" ;;
    "$EX_UNAVAILABLE") echo "unavailable error" ;;
    "$EX_LOCKED") echo "locked warning" ;;
    "$EX_CONFIG") echo "configuration-error error" ;;
    *) echo "failure error" ;;
  esac
}

# Maps snapsync's exit status onto the contract: documented codes pass through; anything else (a crash, a
# signal, 127 for a vanished binary) becomes 1.
job_map_exit() {
  case $1 in
    "$EX_OK" | "$EX_FAILURE" | "$EX_WINDOW_ENDED" | "$EX_PARTIAL" | "$EX_USAGE" | "$EX_UNAVAILABLE" | "$EX_LOCKED" | "$EX_CONFIG") echo "$1" ;;
    *) echo "$EX_FAILURE" ;;
  esac
}

job_json_string() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\t'/\\t}
  s=${s//$'\r'/\\r}
  printf '"%s"' "$s"
}

# One summary line on stderr, in the log format snapsync uses (text on a terminal, JSON lines otherwise).
# usage: job_summary EXIT_CODE MESSAGE [RAW_STATUS]
job_summary() {
  local code=$1 message=$2 raw=${3:-$1} outcome level now duration
  read -r outcome level < <(job_outcome "$code")
  now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
  duration=$(( $(date +%s) - job_started ))
  local format=$job_log_format
  if [[ $format == auto || -z $format ]]; then
    if [[ -t 2 ]]; then format=text; else format=json; fi
  fi
  if [[ $format == json ]]; then
    printf '{"timestamp":"%s","level":"%s","label":"snapsync.job","message":%s,"job":%s,"exit.code":%d,"exit.status":%d,"outcome":"%s","duration.seconds":%d}\n' \
      "$now" "$level" "$(job_json_string "$message")" "$(job_json_string "$job_name")" "$code" "$raw" "$outcome" "$duration" >&2
  else
    printf '%s %s snapsync.job: %s job=%s exit.code=%d exit.status=%d outcome=%s duration.seconds=%d\n' \
      "$now" "$level" "$message" "$job_name" "$code" "$raw" "$outcome" "$duration" >&2
  fi
}

# Ends the job with CODE after writing the summary line.
job_exit() {
  job_summary "$@"
  exit "$1"
}

job_usage() {
  cat >&2 <<EOF
usage: $job_name [--until HH:MM] [--max-duration DURATION] [--config FILE] $1[-- SNAPSYNC-ARGS...]
Runs \`snapsync $2\` under a lock; see README.md, "Running from cron", for the environment and exit codes.
EOF
}

# Parses the job's arguments and environment and takes the lock.
# usage: job_init NAME "snapsync words" WINDOW(yes|no) SNAPSHOT-OPTIONS(yes|no) "$@"
job_init() {
  job_name=$1
  local command_words=$2 window=$3 snapshot_options=$4
  shift 4
  job_started=$(date +%s)
  job_log_format=${SNAPSYNC_LOG_FORMAT:-auto}

  local until=${SNAPSYNC_WINDOW_UNTIL:-} max_duration=${SNAPSYNC_MAX_DURATION:-} config=${SNAPSYNC_CONFIG:-}
  local workers=${SNAPSYNC_WORKERS:-} mailboxes=() extra_usage="" window_argument=""
  if [[ -n ${SNAPSYNC_MAILBOXES:-} ]]; then
    read -r -a mailboxes <<<"$SNAPSYNC_MAILBOXES"
  fi
  [[ $snapshot_options == yes ]] && extra_usage="[--mailbox ADDRESS]... [--workers N] "

  while (($#)); do
    case $1 in
      --until | --max-duration | --config | --mailbox | --workers | --log-format)
        (($# >= 2)) || { job_usage "$extra_usage" "$command_words"; job_exit "$EX_USAGE" "$1 needs a value"; }
        set -- "$1=$2" "${@:3}"
        continue
        ;;
      --until=*) until=${1#*=}; window_argument=${1%%=*} ;;
      --max-duration=*) max_duration=${1#*=}; window_argument=${1%%=*} ;;
      --config=*) config=${1#*=} ;;
      --log-format=*) job_log_format=${1#*=} ;;
      --mailbox=* | --workers=*)
        [[ $snapshot_options == yes ]] || { job_usage "$extra_usage" "$command_words"; job_exit "$EX_USAGE" "unknown option ${1%%=*}"; }
        if [[ $1 == --mailbox=* ]]; then mailboxes+=("${1#*=}"); else workers=${1#*=}; fi
        ;;
      -h | --help) job_usage "$extra_usage" "$command_words"; exit "$EX_OK" ;;
      --) shift; job_passthrough=("$@"); break ;;
      *) job_usage "$extra_usage" "$command_words"; job_exit "$EX_USAGE" "unknown argument $1" ;;
    esac
    shift
  done

  case $job_log_format in
    text | json | auto) ;;
    *) job_log_format=auto; job_exit "$EX_USAGE" "--log-format must be text, json or auto" ;;
  esac
  if [[ $window == no ]]; then
    # The environment may set a window for all jobs (a crontab-wide variable); only an argument is an error.
    [[ -z $window_argument ]] || job_exit "$EX_USAGE" "$job_name takes no $window_argument"
    until="" max_duration=""
  fi
  if [[ $snapshot_options == no ]]; then
    mailboxes=() workers=""
  fi
  if [[ -n $until ]]; then
    [[ $until =~ ^([01]?[0-9]|2[0-3]):[0-5][0-9]$ ]] || job_exit "$EX_USAGE" "--until must be HH:MM (24-hour clock), got '$until'"
  fi
  if [[ -n $max_duration ]]; then
    [[ $max_duration =~ ^([0-9]+[smhdSMHD]?)+$ ]] ||
      job_exit "$EX_USAGE" "--max-duration must look like 45s, 90m, 2h, 1h30m or 1d, got '$max_duration'"
  fi
  if [[ -n $workers ]]; then
    [[ $workers =~ ^[1-9][0-9]*$ ]] || job_exit "$EX_USAGE" "--workers must be a positive number, got '$workers'"
  fi
  [[ -n $until ]] && job_window_args+=(--until "$until")
  [[ -n $max_duration ]] && job_window_args+=(--max-duration "$max_duration")
  local mailbox
  for mailbox in "${mailboxes[@]}"; do job_option_args+=(--mailbox "$mailbox"); done
  [[ -n $workers ]] && job_option_args+=(--workers "$workers")

  if [[ -n $config ]]; then
    [[ -r $config ]] || job_exit "$EX_CONFIG" "config file $config is not readable"
    job_global_args+=(--config "$config")
  fi
  job_global_args+=(--log-format "$job_log_format")
  if [[ -n ${SNAPSYNC_METRICS_DIR:-} ]]; then
    [[ -d $SNAPSYNC_METRICS_DIR && -w $SNAPSYNC_METRICS_DIR ]] ||
      job_exit "$EX_CONFIG" "SNAPSYNC_METRICS_DIR $SNAPSYNC_METRICS_DIR is not a writable directory"
    job_global_args+=(--metrics-file "$SNAPSYNC_METRICS_DIR/snapsync-$job_name.prom")
  fi

  job_bin=${SNAPSYNC_BIN:-snapsync}
  if [[ $job_bin == */* ]]; then
    [[ -x $job_bin ]] || job_exit "$EX_CONFIG" "SNAPSYNC_BIN $job_bin is not executable"
  else
    job_bin=$(command -v "$job_bin") || job_exit "$EX_CONFIG" "snapsync not found on PATH (set SNAPSYNC_BIN)"
  fi

  job_lock
}

# Takes this job's exclusive lock for the rest of the process (and snapsync, which inherits it), or exits 75.
job_lock() {
  local dir=${SNAPSYNC_LOCK_DIR:-}
  if [[ -z $dir ]]; then
    if [[ -d /run/lock && -w /run/lock ]]; then dir=/run/lock; else dir=${TMPDIR:-/tmp}; fi
  fi
  [[ -d $dir && -w $dir ]] || job_exit "$EX_CONFIG" "lock directory $dir is not a writable directory"
  local lock_file="$dir/snapsync-$job_name.lock" fd
  exec {fd}>>"$lock_file" || job_exit "$EX_CONFIG" "cannot open lock file $lock_file"
  flock -n "$fd" || job_exit "$EX_LOCKED" "another $job_name run holds $lock_file; skipped"
}

# Runs `snapsync WORDS... GLOBAL... WINDOW... OPTIONS... PASSTHROUGH...` and exits with its mapped code.
# usage: job_run WORD...
job_run() {
  local status=0 code
  "$job_bin" "$@" "${job_global_args[@]}" "${job_window_args[@]}" "${job_option_args[@]}" "${job_passthrough[@]}" || status=$?
  code=$(job_map_exit "$status")
  job_exit "$code" "snapsync $* finished" "$status"
}
