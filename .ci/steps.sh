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
  echo "== $name: $((SECONDS - start)) s$([ "$rc" -eq 0 ] || echo ", FAILED (exit $rc)")"
  if [ "$rc" -ne 0 ]; then exit "$rc"; fi
}

# beside NAME CACHE LOG COMMAND...: start COMMAND in the background, its output into LOG; `joined` waits
# for it, prints LOG and adds its row (its own seconds). For a step that mostly waits (the pipeline
# tests' collector outages and slow streams) beside one that works (the lab).
BESIDE_PID=
beside() {
  local name=$1 cache=$2 log=$3 state=-
  shift 3
  if [ "$cache" != - ]; then
    if [ -e "$cache" ]; then state=warm; else state=cold; fi
  fi
  echo "== $name (cache: $state), beside the next step; output in $log"
  BESIDE_NAME=$name BESIDE_STATE=$state BESIDE_LOG=$log BESIDE_START=$SECONDS
  ( set +e; "$@" >"$log" 2>&1; echo $? >"$log.rc"; echo $SECONDS >"$log.end" ) &
  BESIDE_PID=$!
}

joined() {
  local rc end
  [ -n "$BESIDE_PID" ] || return 0
  wait "$BESIDE_PID" || true
  BESIDE_PID=
  rc=$(cat "$BESIDE_LOG.rc" 2>/dev/null || echo 1)
  end=$(cat "$BESIDE_LOG.end" 2>/dev/null || echo $SECONDS)
  echo "== $BESIDE_NAME (ran beside the step before):"
  cat "$BESIDE_LOG"
  ROWS+=("$BESIDE_NAME (beside)|$((end - BESIDE_START))|$BESIDE_STATE$([ "$rc" -eq 0 ] || echo ", FAILED")")
  echo "== $BESIDE_NAME: $((end - BESIDE_START)) s$([ "$rc" -eq 0 ] || echo ", FAILED (exit $rc)")"
  return "$rc"
}
