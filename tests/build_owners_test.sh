#!/usr/bin/env bash
# Single-id rootless builds (no subordinate ids: only the caller's id is
# mapped, to 0): chown in RUN is answered by the builder's seccomp
# supervisor, which records the intended owner, and the layers carry it.
# Inside later RUN steps the files still show as root's (`ls -ln` gives 0):
# only the image has the recorded owners.
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
RUN touch /f && chown 1234:5678 /f && mkdir /d && chown -h 42:43 /d && ln -s x /l && chown -h 7:8 /l && \
    touch /back && chown 500:500 /back && chown 0:0 /back && \
    cp /bin/busybox /suid && chmod 4755 /suid && chown 3:3 /suid
RUN chmod 600 /data.txt && chown 1234:99 /f && chown -h 70:80 /l && cd /d && chown 44:43 . && ls -ln / > /ls.txt
DOCKERFILE
chmod -R a+rX "$ctx"

test_user slipway-owners no
state=$TEST_TMP/state out=$TEST_TMP/out
mkdir -p "$state" "$out" && chown slipway-owners "$state" "$out"
runuser -u slipway-owners -- env HOME=/nonexistent "$bin" build --context "$ctx" \
  --build-context busybox=oci-layout://"$BASE":latest --state-dir "$state" --oci-layout-path "$out" \
  >"$TEST_TMP/out.log" 2>&1 || fail "single-id build failed: $(cat "$TEST_TMP/out.log")"
log=$(cat "$TEST_TMP/out.log")
[[ "$log" != *"cannot be tracked"* ]] || fail "owners were not tracked: $log"

# "LAYER uid/gid path" for every entry of every layer, bottom layer first.
entries=$(for d in $(skopeo inspect "oci:$out:latest" | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["Layers"]))'); do
  python3 - "$out/blobs/sha256/${d#sha256:}" "${d:7:12}" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    for m in t:
        print(sys.argv[2], "%d/%d" % (m.uid, m.gid), m.name, " ".join(sorted(m.pax_headers)))
PY
done)
layer() { skopeo inspect "oci:$out:latest" | python3 -c "import json,sys; print(json.load(sys.stdin)['Layers'][$1][7:19])"; }
l1=$(layer -3) l2=$(layer -2) l3=$(layer -1)
expect_contains "$entries" "$l1 1234/5678 data.txt"
expect_contains "$entries" "$l2 1234/5678 f "
expect_contains "$entries" "$l2 42/43 d "
expect_contains "$entries" "$l2 7/8 l "
expect_contains "$entries" "$l2 0/0 back "
expect_contains "$entries" "$l2 3/3 suid "
# Owners survive overlay copy-up of earlier layers' files, a chown that
# changes only one id, and a second chown of a symlink from a lower layer.
expect_contains "$entries" "$l3 1234/5678 data.txt"
expect_contains "$entries" "$l3 1234/99 f "
expect_contains "$entries" "$l3 70/80 l "
expect_contains "$entries" "$l3 44/43 d "
# The record is consumed, never shipped.
[[ "$entries" != *rootlesscontainers* ]] || fail "user.rootlesscontainers leaked into a layer: $entries"

unpack_image "$out" latest "$TEST_TMP/u"
r=$TEST_TMP/u/rootfs
for want in "1234/5678 data.txt" "1234/99 f" "44/43 d" "70/80 l" "0/0 back" "3/3 suid"; do
  p=${want#* }
  got="$(stat -c %u/%g "$r/$p") $p"
  [ "$got" = "$want" ] || fail "owner after umoci unpack: got '$got', want '$want'"
done
[ "$(stat -c %a "$r/data.txt")" = "600" ] || fail "chmod lost on a copied-up file"
# chown drops the setuid bit, as the kernel does.
[ "$(stat -c %a "$r/suid")" = "755" ] || fail "chown kept the setuid bit: $(stat -c %a "$r/suid")"
# Inside the build the files stay root's.
expect_match "$(grep ' f$' "$r/ls.txt")" "^-[rw-]+ +1 +0 +0 "

# --single-snapshot (copy snapshotter, one layer at the end of the stage)
# keeps the owners of every step, the side-kept symlink's included.
out2=$TEST_TMP/out2
mkdir -p "$out2" && chown slipway-owners "$out2"
runuser -u slipway-owners -- env HOME=/nonexistent "$bin" build --context "$ctx" --single-snapshot \
  --build-context busybox=oci-layout://"$BASE":latest --state-dir "$state" --oci-layout-path "$out2" \
  >"$TEST_TMP/out2.log" 2>&1 || fail "single-snapshot build failed: $(cat "$TEST_TMP/out2.log")"
unpack_image "$out2" latest "$TEST_TMP/u2"
for want in "1234/5678 data.txt" "1234/99 f" "44/43 d" "70/80 l" "0/0 back" "3/3 suid"; do
  p=${want#* }
  got="$(stat -c %u/%g "$TEST_TMP/u2/rootfs/$p") $p"
  [ "$got" = "$want" ] || fail "owner with --single-snapshot: got '$got', want '$want'"
done
pass
