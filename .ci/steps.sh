# Sourced by .ci/run: `step NAME CACHE COMMAND...` runs and times one CI step; the EXIT trap prints
# the table of every step so far (step, seconds, cold/warm cache), also when a step failed.
# shellcheck shell=bash

ROWS=()
RUN_START=$SECONDS

table() {
  local rc=$? row name seconds state total=$((SECONDS - RUN_START))
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
