# Sourced by .ci/run: `step NAME CACHE COMMAND...` runs and times one CI step; the EXIT trap prints
# the table of every step so far (step, seconds, cold/warm cache), also when a step failed.
# shellcheck shell=bash

ROWS=()
RUN_START=$SECONDS

table() {
  local rc=$? row name seconds state total
  if [ -n "${BESIDE_PID:-}" ]; then joined || true; fi  # a step failed while one ran beside it: wait, show it
  total=$((SECONDS - RUN_START))
  echo
  echo "== CI time budget (seconds per step; cache = the step's cache existed when it started)"
  printf '%-28s %8s  %s\n' step seconds cache
  for row in "${ROWS[@]}"; do
    IFS='|' read -r name seconds state <<<"$row"
    printf '%-28s %8s  %s\n' "$name" "$seconds" "$state"
  done
  printf '%-28s %8s\n' total "$total"
  if [ "$rc" -ne 0 ]; then echo "CI FAILED (exit $rc)"; fi
}
trap table EXIT

# step NAME CACHE COMMAND...: CACHE is a path whose existence means "warm", or - for a step without one.
step() {
  local name=$1 cache=$2 state=- start rc=0
  shift 2
  if [ "$cache" != - ]; then
    if [ -e "$cache" ]; then state=warm; else state=cold; fi
  fi
  echo "== $name (cache: $state)"
  start=$SECONDS
  "$@" || rc=$?
  ROWS+=("$name|$((SECONDS - start))|$state$([ "$rc" -eq 0 ] || echo ", FAILED")")
  # A step inside a lane that runs beside (a subshell): its row goes to a file the join reads. The
  # variable is not exported, so commands the lane runs (make test runs these very functions) do not see it.
  if [ -n "${STEP_ROWS_FILE:-}" ]; then echo "  ${ROWS[-1]}" >>"$STEP_ROWS_FILE"; fi
  echo "== $name: $((SECONDS - start)) s$([ "$rc" -eq 0 ] || echo ", FAILED (exit $rc)")"
  if [ "$rc" -ne 0 ]; then exit "$rc"; fi
}

# beside NAME CACHE LOG COMMAND...: start COMMAND in the background, its output into LOG; `joined` waits
# for it, prints LOG and adds its row (its own seconds). For a step that mostly waits (the pipeline
# tests' collector outages and slow streams) beside one that works (the lab).
# beside_shown NAME CACHE LOG COMMAND...: the same, with the output also on the console as it comes
# (a long build's heartbeat), so `joined` does not print it again.
# COMMAND may be a function of several `step`s (a lane): it stops at its first failed step, and each
# step's row joins the table, indented under the lane's own.
BESIDE_PID=
beside() { _beside quiet "$@"; }
beside_shown() { _beside shown "$@"; }

_beside() {
  local mode=$1 name=$2 cache=$3 log=$4 state=-
  shift 4
  if [ "$cache" != - ]; then
    if [ -e "$cache" ]; then state=warm; else state=cold; fi
  fi
  echo "== $name (cache: $state), beside the next steps; output in $log"
  BESIDE_NAME=$name BESIDE_STATE=$state BESIDE_LOG=$log BESIDE_START=$SECONDS BESIDE_MODE=$mode
  : >"$log.rows"
  if [ "$mode" = shown ]; then
    ( set +e; STEP_ROWS_FILE=$log.rows; ( "$@" ) 2>&1 | tee "$log"; echo "${PIPESTATUS[0]}" >"$log.rc"
      echo $SECONDS >"$log.end" ) &
  else
    ( set +e; STEP_ROWS_FILE=$log.rows; ( "$@" ) >"$log" 2>&1; echo $? >"$log.rc"; echo $SECONDS >"$log.end" ) &
  fi
  BESIDE_PID=$!
}

joined() {
  local rc end
  [ -n "$BESIDE_PID" ] || return 0
  wait "$BESIDE_PID" || true
  BESIDE_PID=
  rc=$(cat "$BESIDE_LOG.rc" 2>/dev/null || echo 1)
  end=$(cat "$BESIDE_LOG.end" 2>/dev/null || echo $SECONDS)
  if [ "$BESIDE_MODE" = shown ]; then
    echo "== $BESIDE_NAME (ran beside the steps before; its output is above, also in $BESIDE_LOG)"
  else
    echo "== $BESIDE_NAME (ran beside the steps before):"
    cat "$BESIDE_LOG"
  fi
  ROWS+=("$BESIDE_NAME (beside)|$((end - BESIDE_START))|$BESIDE_STATE$([ "$rc" -eq 0 ] || echo ", FAILED")")
  local row
  while IFS= read -r row; do ROWS+=("$row"); done <"$BESIDE_LOG.rows"
  echo "== $BESIDE_NAME: $((end - BESIDE_START)) s$([ "$rc" -eq 0 ] || echo ", FAILED (exit $rc)")"
  return "$rc"
}
