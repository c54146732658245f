#!/usr/bin/env bash
# File capabilities (security.capability) reach the layer as a PAX
# SCHILY.xattr record and survive `umoci unpack` as root: set by `setcap` in a
# RUN step (the host's setcap and its libraries copied into the context and
# run through their own loader, as busybox has no setcap), and carried by a
# COPY of a context file that has them. Built as root and rootless with a
# subordinate id range.
source "$(dirname "$0")/lib.sh"
skip_unless_root "setcap, test users"
command -v setcap >/dev/null && command -v getcap >/dev/null || fail "setcap/getcap (libcap2-bin) missing"
BASE=$(base_image)
bin=$(user_binary)

ctx=$TEST_TMP/ctx
mkdir -p "$ctx/sc"
cp "$(command -v setcap)" "$ctx/sc/setcap"
for lib in $(ldd "$(command -v setcap)" | awk '/=>/ {print $3} /ld-linux/ {print $1}'); do cp -L "$lib" "$ctx/sc/"; done
loader=$(cd "$ctx/sc" && ls ld-linux* | head -1)
cp /bin/busybox "$ctx/capped"
setcap cap_net_raw=+ep "$ctx/capped" || fail "cannot set capabilities in the test directory"
cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM busybox
COPY sc /sc
COPY capped /capped
RUN cp /bin/busybox /x && /sc/$loader --library-path /sc /sc/setcap cap_net_bind_service=+ep /x && rm -rf /sc
DOCKERFILE
chmod -R a+rX "$ctx"

check() {  # LAYOUT WHO
  local layers
  layers=$(for d in $(skopeo inspect "oci:$1:latest" | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["Layers"]))'); do
    python3 - "$1/blobs/sha256/${d#sha256:}" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    for m in t:
        print(m.name, " ".join(sorted(k for k in m.pax_headers if k.startswith("SCHILY.xattr."))))
PY
  done)
  expect_contains "$layers" "x SCHILY.xattr.security.capability"
  expect_contains "$layers" "capped SCHILY.xattr.security.capability"
  unpack_image "$1" latest "$TEST_TMP/u-$2"
  expect_match "$(getcap "$TEST_TMP/u-$2/rootfs/x")" "cap_net_bind_service[=+]+ep"
  expect_match "$(getcap "$TEST_TMP/u-$2/rootfs/capped")" "cap_net_raw[=+]+ep"
}

# As root.
"$bin" build --context "$ctx" --build-context busybox=oci-layout://"$BASE":latest \
  --state-dir "$TEST_TMP/state-root" --oci-layout-path "$TEST_TMP/out-root" >"$TEST_TMP/root.log" 2>&1 \
  || fail "build as root failed: $(cat "$TEST_TMP/root.log")"
check "$TEST_TMP/out-root" root

# Rootless, with a subordinate range (file capabilities set in a user
# namespace are namespaced: the layer must hold the plain v2 form).
test_user slipway-setcap yes
state=$TEST_TMP/state-user out=$TEST_TMP/out-user
mkdir -p "$state" "$out" && chown slipway-setcap "$state" "$out"
runuser -u slipway-setcap -- env HOME=/nonexistent "$bin" build --context "$ctx" \
  --build-context busybox=oci-layout://"$BASE":latest --state-dir "$state" --oci-layout-path "$out" \
  >"$TEST_TMP/user.log" 2>&1 || fail "rootless build failed: $(cat "$TEST_TMP/user.log")"
check "$out" user
pass
