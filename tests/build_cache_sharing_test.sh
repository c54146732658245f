#!/usr/bin/env bash
# RUN --mount=type=cache sharing modes, with two builds running at once on
# one state dir. Each build touches its own file in the cache, waits, then
# records what it sees:
#  shared  - both use the one dir at the same time: each sees both files;
#  locked  - the second waits for the first: one sees only its own file,
#            the other sees both;
#  private - the second does not wait but gets a fresh dir: each sees only
#            its own file, and neither waited for the other.
source "$(dirname "$0")/lib.sh"
BASE=$(base_image)
ctx=$TEST_TMP/ctx
mkdir -p "$ctx"
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox
ARG WHO
ARG SHARING
RUN --mount=type=cache,id=c-$SHARING,target=/c,sharing=$SHARING touch /c/$WHO && sleep 3 && ls /c | tr '\n' ' ' > /seen
DOCKERFILE
state=$TEST_TMP/state
build() {  # SHARING WHO
  "$SLIPWAY" build --context "$ctx" --build-context busybox=oci-layout://"$BASE":latest --state-dir "$state" \
    --build-arg WHO="$2" --build-arg SHARING="$1" --oci-layout-path "$TEST_TMP/$1-$2" >"$TEST_TMP/$1-$2.log" 2>&1
}
seen() {  # SHARING WHO
  local d
  d=$(skopeo inspect "oci:$TEST_TMP/$1-$2:latest" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Layers"][-1])')
  tar -xzOf "$TEST_TMP/$1-$2/blobs/sha256/${d#sha256:}" seen
}
both() {  # SHARING: runs the two builds at once; prints the seconds taken
  local start=$SECONDS a b
  build "$1" a & a=$!
  build "$1" b & b=$!
  wait $a || fail "$1 build a failed: $(cat "$TEST_TMP/$1-a.log")"
  wait $b || fail "$1 build b failed: $(cat "$TEST_TMP/$1-b.log")"
  echo $((SECONDS - start))
}
# Unpack the base once, so the builds below start together (its own cache id).
build warmup x >/dev/null 2>&1 || true

both shared >/dev/null
[ "$(seen shared a)" = "a b " ] || fail "shared: build a saw '$(seen shared a)'"
[ "$(seen shared b)" = "a b " ] || fail "shared: build b saw '$(seen shared b)'"

t=$(both locked)
pair="$(seen locked a)|$(seen locked b)"
[ "$pair" = "a |a b " ] || [ "$pair" = "a b |b " ] || fail "locked: saw '$pair'"
[ "$t" -ge 6 ] || fail "locked: the builds did not wait for each other (${t}s)"

t=$(both private)
[ "$(seen private a)" = "a " ] || fail "private: build a saw '$(seen private a)'"
[ "$(seen private b)" = "b " ] || fail "private: build b saw '$(seen private b)'"
[ "$t" -lt 6 ] || fail "private: one build waited for the other (${t}s)"
# The next private user reuses a free instance: the shared dir, now unlocked.
build private c || fail "private build c failed: $(cat "$TEST_TMP/private-c.log")"
expect_match "$(seen private c)" "^(a c |b c )$"
pass
