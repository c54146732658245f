#!/usr/bin/env bash
# Build-time errors name the instruction as parse errors do, FILE:LINE:COL:
# a failing RUN (indented, so the column is not 1) and a bad --mount.
source "$(dirname "$0")/lib.sh"
BASE=$(base_image)
ctx=$TEST_TMP/ctx
mkdir -p "$ctx"
build() {  # DOCKERFILE-TEXT
  printf '%s' "$1" > "$ctx/Dockerfile"
  "$SLIPWAY" build --context "$ctx" --build-context busybox=oci-layout://"$BASE":latest \
    --state-dir "$TEST_TMP/state" --no-push 2>&1
}
err=$(build $'FROM busybox\n\n   RUN exit 4\n') && fail "a failing RUN must fail the build"
expect_contains "$err" "$ctx/Dockerfile:3:4: RUN returned a non-zero code: 4"
# A bad mount type is a parse error, at the flag's column.
err=$(build $'FROM busybox\nRUN --mount=type=nosuch,target=/x true\n') && fail "a bad --mount must fail the build"
expect_contains "$err" "$ctx/Dockerfile:2:5: --mount: unsupported mount type"
# Mounts that fail when the step runs: at the instruction.
err=$(build $'FROM busybox\nRUN --mount=type=secret,id=nope,required=true true\n') && fail "a missing secret must fail"
expect_contains "$err" "$ctx/Dockerfile:2:1: RUN --mount: secret nope is required"
err=$(build $'FROM busybox\n RUN --mount=type=bind,source=../../etc,target=/x true\n') && fail "an escaping bind source must fail"
expect_contains "$err" "$ctx/Dockerfile:2:2: RUN --mount: opening etc in the build context"
err=$(build $'FROM busybox\n  COPY missing.txt /\n') && fail "a missing COPY source must fail the build"
expect_match "$err" "$ctx/Dockerfile:2:3: COPY"
pass
