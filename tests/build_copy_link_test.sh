#!/usr/bin/env bash
# COPY --link makes its layer independently of what it lands on: parents
# missing from the base are created with default metadata, an existing
# parent's mode and a symlinked parent are ignored (never followed), and the
# same COPY --link over two different bases gives the same layer digest.
# Without --link the layer depends on the base (checked, so the test can fail).
source "$(dirname "$0")/lib.sh"
BASE=$(base_image)
ctx=$TEST_TMP/ctx
mkdir -p "$ctx/tree/sub"
echo data > "$ctx/data.txt"
echo deep > "$ctx/tree/sub/f"
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch AS plain
COPY --link --chown=7:8 data.txt tree /app/sub/

FROM busybox AS odd
RUN mkdir -p /app /elsewhere && chmod 700 /app && ln -s /elsewhere /app/sub
COPY --link --chown=7:8 data.txt tree /app/sub/
RUN test -f /app/sub/data.txt && test ! -e /elsewhere/data.txt

FROM busybox AS nolink
RUN mkdir -p /app/sub && chmod 700 /app
COPY --chown=7:8 data.txt tree /app/sub/

FROM scratch AS nolink-plain
COPY --chown=7:8 data.txt tree /app/sub/
DOCKERFILE
chmod -R a+rX "$ctx"
build() {  # TARGET
  "$SLIPWAY" build --context "$ctx" --build-context busybox=oci-layout://"$BASE":latest --reproducible \
    --state-dir "$TEST_TMP/state" --target "$1" --oci-layout-path "$TEST_TMP/$1" 2>"$TEST_TMP/$1.log" \
    || fail "build of $1 failed: $(cat "$TEST_TMP/$1.log")"
}
layer() {  # TARGET INDEX
  skopeo inspect "oci:$TEST_TMP/$1:latest" | python3 -c "import json,sys; print(json.load(sys.stdin)['Layers'][$2])"
}
for t in plain odd nolink nolink-plain; do build "$t"; done
a=$(layer plain -1)
odd_layers=$(skopeo inspect "oci:$TEST_TMP/odd:latest")
expect_contains "$odd_layers" "$a"  # the very same blob as over scratch
listing=$(tar -tvzf "$TEST_TMP/plain/blobs/sha256/${a#sha256:}" --numeric-owner | awk '{print $1, $2, $6}')
# New parents: 0755, owned by the --chown user (not /app's 0700).
expect_contains "$listing" "drwxr-xr-x 7/8 app/"
expect_contains "$listing" "drwxr-xr-x 7/8 app/sub/"
expect_contains "$listing" "-rw-r--r-- 7/8 app/sub/data.txt"
expect_contains "$listing" "7/8 app/sub/sub/f"
# Without --link the existing /app's mode is kept: the layers differ.
c=$(layer nolink -1) d=$(layer nolink-plain -1)
[ "$c" != "$d" ] || fail "COPY without --link should depend on the base"
pass
