#!/usr/bin/env bash
# --verify-reproducible builds twice and compares digests: a deterministic
# Dockerfile passes and writes its outputs; one whose RUN writes a timestamp
# fails, writes nothing, and names the step and the file that differ.
source "$(dirname "$0")/lib.sh"
BASE=$(base_image)
ctx=$TEST_TMP/ctx
mkdir -p "$ctx"
echo data > "$ctx/data.txt"
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox
COPY data.txt /app/
RUN echo fixed > /app/fixed && mkdir /app/d && touch /app/d/t
DOCKERFILE
out=$TEST_TMP/good
digest=$("$SLIPWAY" build --context "$ctx" --build-context busybox=oci-layout://"$BASE":latest \
  --state-dir "$TEST_TMP/state" --verify-reproducible --oci-layout-path "$out" 2>"$TEST_TMP/good.log") \
  || fail "a reproducible build failed verification: $(cat "$TEST_TMP/good.log")"
expect_contains "$(cat "$TEST_TMP/good.log")" "both builds gave $digest"
[ "$(skopeo inspect --raw "oci:$out:latest" | sha256sum | cut -d' ' -f1)" = "${digest#sha256:}" ] \
  || fail "the OCI layout does not hold $digest"

# A random id: different in every run, as a timestamp would be.
cat >> "$ctx/Dockerfile" <<'DOCKERFILE'
RUN cat /proc/sys/kernel/random/uuid > /app/stamp
DOCKERFILE
bad=$TEST_TMP/bad
set +e
"$SLIPWAY" build --context "$ctx" --build-context busybox=oci-layout://"$BASE":latest \
  --state-dir "$TEST_TMP/state" --verify-reproducible --oci-layout-path "$bad" >"$TEST_TMP/bad.out" 2>"$TEST_TMP/bad.log"
rc=$?
set -e
[ $rc -ne 0 ] || fail "an unreproducible build passed verification"
log=$(cat "$TEST_TMP/bad.log")
expect_contains "$log" "--verify-reproducible: the second build gave"
expect_contains "$log" "(RUN /bin/sh -c cat /proc/sys/kernel/random/uuid > /app/stamp"
expect_contains "$log" "/app/stamp: content differs"
# The layers before the timestamp agree, so they are not blamed.
why=${log#*What differs:}
[[ "$why" == *"/app/fixed"* ]] && fail "a layer that matched was reported: $why"
[ -e "$bad" ] && fail "a failed verification wrote the OCI layout"
[ -s "$TEST_TMP/bad.out" ] && fail "a failed verification printed a digest"
pass
