#!/usr/bin/env bash
# SIGTERM in the middle of a RUN step: the step's processes die, no mount,
# process or temp dir is left, and the exit code says so. As root, and as an
# unprivileged user (where the signal crosses into the user namespace).
source "$(dirname "$0")/lib.sh"
BASE=$(base_image)
ctx=$TEST_TMP/ctx
mkdir -p "$ctx"
printf 'FROM busybox\nRUN echo started > /started && sleep 313 & sleep 314\n' > "$ctx/Dockerfile"
chmod -R a+rX "$ctx"
bin=$(user_binary)

interrupt() {  # RUNNER...
  local state=$TEST_TMP/state-$RANDOM
  mkdir -p "$state" && chmod 777 "$state"
  "$@" "$bin" build --context "$ctx" --build-context busybox=oci-layout://"$BASE":latest \
    --state-dir "$state" --no-push >"$state.log" 2>&1 &
  local pid=$! i
  for i in $(seq 1 200); do pgrep -f "sleep 314" >/dev/null && break; sleep 0.05; done
  pgrep -f "sleep 314" >/dev/null || fail "the step never started: $(cat "$state.log")"
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  [ "$rc" -ne 0 ] || fail "an interrupted build must not exit 0"
  for i in $(seq 1 100); do pgrep -f "sleep 31[34]" >/dev/null || break; sleep 0.05; done
  pgrep -f "sleep 31[34]" >/dev/null && fail "step processes survived the interrupt"
  grep -q "$state" /proc/mounts && fail "mounts left behind"
  [ -z "$(ls -A "$state/tmp" 2>/dev/null)" ] || fail "temp dirs left behind: $(ls "$state/tmp")"
}

interrupt env
if [ "$(id -u)" -eq 0 ]; then
  test_user slipway-int no
  interrupt runuser -u slipway-int --
fi
pass
