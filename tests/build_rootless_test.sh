#!/usr/bin/env bash
# slipway build as an unprivileged user: once with a subordinate id range
# (newuidmap maps 65536 ids, chown in RUN is real), once without (one id
# mapped, chown emulated). The image is read back as in build_test.
source "$(dirname "$0")/lib.sh"
skip_unless_root "to create test users"
BASE=$(base_image)
bin=$(user_binary)


ctx=$TEST_TMP/ctx
mkdir -p "$ctx"
echo "data" > "$ctx/data.txt"
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox
COPY --chown=1234:5678 data.txt /data.txt
RUN touch /owned && chown 4321:8765 /owned && chmod 4750 /owned
USER app
RUN id -u > /tmp/uid && touch /tmp/by-app
DOCKERFILE
chmod -R a+rX "$ctx"

# Prints "uid/gid path" for every entry of every layer of the built image.
owners() {
  local layout=$1 d
  for d in $(skopeo inspect "oci:$layout:latest" | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["Layers"]))'); do
    tar -tvzf "$layout/blobs/sha256/${d#sha256:}" | awk '{print $2, $6}'
  done
}

run_as() {  # USER OUT
  local state=$TEST_TMP/state-$1
  mkdir -p "$state" "$2" && chown "$1" "$state" "$2"
  runuser -u "$1" -- env HOME=/nonexistent "$bin" build --context "$ctx" \
    --build-context busybox=oci-layout://"$BASE":latest --state-dir "$state" --oci-layout-path "$2" \
    >"$TEST_TMP/$1.out" 2>"$TEST_TMP/$1.log" || fail "rootless build as $1 failed: $(cat "$TEST_TMP/$1.log")"
  # Nothing may be left mounted or running once the build is over.
  ! grep -q "$TEST_TMP" /proc/mounts || fail "mounts left behind: $(grep "$TEST_TMP" /proc/mounts)"
  [ -z "$(ls -A "$state/tmp")" ] || fail "temp dirs left behind: $(ls "$state/tmp")"
}

# With subordinate ids: every owner is real.
test_user slipway-sub yes
run_as slipway-sub "$TEST_TMP/out-sub"
o=$(owners "$TEST_TMP/out-sub")
expect_contains "$o" "1234/5678 data.txt"
expect_contains "$o" "4321/8765 owned"
expect_contains "$o" "1000/1000 tmp/by-app"
unpack_image "$TEST_TMP/out-sub" latest "$TEST_TMP/u-sub"
[ "$(cat "$TEST_TMP/u-sub/rootfs/tmp/uid")" = "1000" ] || fail "USER app did not run as 1000"
[ "$(stat -c %a "$TEST_TMP/u-sub/rootfs/owned")" = "4750" ] || fail "setuid bit lost in a rootless build"

# Without: one id, chown emulated, USER runs as root with a warning.
test_user slipway-nosub no
run_as slipway-nosub "$TEST_TMP/out-nosub"
expect_contains "$(cat "$TEST_TMP/slipway-nosub.log")" "only one id is mapped"
o=$(owners "$TEST_TMP/out-nosub")
expect_contains "$o" "1234/5678 data.txt"
unpack_image "$TEST_TMP/out-nosub" latest "$TEST_TMP/u-nosub"
[ "$(cat "$TEST_TMP/u-nosub/rootfs/tmp/uid")" = "0" ] || fail "single-id build should run USER as root"
[ "$(stat -c %a "$TEST_TMP/u-nosub/rootfs/owned")" = "4750" ] || fail "setuid bit lost in a single-id build"
pass
