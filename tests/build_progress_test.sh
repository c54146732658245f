#!/usr/bin/env bash
# --progress: on a terminal (a pty from `script`) with TERM set, auto redraws
# the running step in place (carriage return + erase-line escapes, a running
# timer) and leaves each finished step as a plain line; plain and non-TTY
# output have no escape codes; --log-format json stays one JSON object per
# line whatever --progress says.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_fixture/registry.sh"
command -v script >/dev/null || fail "script (bsdutils) missing"
BASE=$(base_image)
ctx=$TEST_TMP/ctx
mkdir -p "$ctx"
printf 'FROM busybox\nRUN sleep 0.6 && echo ran > /ran\n' > "$ctx/Dockerfile"
n=0
cmd() {  # extra flags...
  n=$((n + 1))
  echo "$SLIPWAY build --context $ctx --build-context busybox=oci-layout://$BASE:latest --state-dir $TEST_TMP/state --no-push --oci-layout-path $TEST_TMP/out$n $*"
}
esc=$'\033'
# auto on a pty: redrawn.
out=$(TERM=xterm script -qec "$(cmd --progress auto)" /dev/null) || fail "build on a pty failed: $out"
[[ "$out" == *"$esc[K"* ]] || fail "auto on a terminal did not redraw: $out"
expect_match "$out" "step 1/1 RUN sleep 0.6[^"$'\n'"]* 0\.[1-9]s"     # the running timer
expect_match "$out" "step 1/1 done in [0-9.]+s, layer"
# TERM=dumb, or plain, on a pty: plain lines.
out=$(TERM=dumb script -qec "$(cmd --progress auto)" /dev/null) || fail "build failed: $out"
[[ "$out" != *"$esc"* ]] || fail "TERM=dumb got escape codes: $out"
out=$(TERM=xterm script -qec "$(cmd --progress plain)" /dev/null) || fail "build failed: $out"
[[ "$out" != *"$esc"* ]] || fail "--progress plain got escape codes: $out"
expect_contains "$out" "step 1/1 done in"
# Not a terminal: plain, even when TERM is set.
out=$(TERM=xterm $(cmd) 2>&1) || fail "build failed: $out"
[[ "$out" != *"$esc"* ]] || fail "a non-terminal got escape codes: $out"
# JSON is never redrawn.
out=$(TERM=xterm script -qec "$(cmd --progress tty --log-format json) 2>&1 >/dev/null" /dev/null) || fail "build failed: $out"
[[ "$out" != *"$esc"* ]] || fail "JSON got escape codes: $out"
echo "$out" | tr -d '\r' | grep -v '^sha256:' | python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin if l.strip()]' \
  || fail "JSON progress is not one object per line: $out"
expect_exit 2 $(cmd --progress fancy)
# A push shows its byte count on the live line: one count over the blobs
# going out in parallel (the base's, the 3 MB layer's, the config's), and
# the finished total is always drawn, however fast the push.
start_registry
head -c 3000000 /dev/urandom > "$ctx/big"
printf 'FROM busybox\nCOPY big /big\n' > "$ctx/Dockerfile"
push="$SLIPWAY build --context $ctx --build-context busybox=oci-layout://$BASE:latest --state-dir $TEST_TMP/state"
out=$(TERM=xterm script -qec "$push --progress tty -d $REGISTRY/p/app:1 --insecure-registry $REGISTRY" /dev/null) \
  || fail "push on a pty failed: $out"
expect_match "$out" "push ([3-9]|[1-9][0-9])[0-9.]*MB/([3-9]|[1-9][0-9])[0-9.]*MB"
pass
