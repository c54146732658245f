#!/usr/bin/env bash
# The copy snapshotter (no overlayfs: a private copy of the tree and the
# walking differ) must build the same image as the overlay snapshotter:
# with --reproducible, the same digest, byte for byte. Also rootless.
source "$(dirname "$0")/lib.sh"
BASE=$(base_image)
ctx=$TEST_TMP/ctx
mkdir -p "$ctx"
echo data > "$ctx/data.txt"
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox AS b
WORKDIR /app
COPY data.txt ./
RUN echo one > one && mkdir -p d/e && echo deep > d/e/f && ln -s one link && ln data.txt hard && rm /etc/group && chmod 700 d
RUN rm -rf d && echo two >> one && chown 12:34 one && mkdir /etc/new && touch /etc/new/x && chmod u+s one
FROM b
RUN rm -rf /etc/new && echo final > /final
DOCKERFILE
chmod -R a+rX "$ctx"
bin=$(user_binary)
build() {  # MODE OUT [RUNNER...]
  local mode=$1 out=$2
  shift 2
  mkdir -p "$out.state" "$out" && chmod 777 "$out.state" "$out"
  "$@" "$bin" build --context "$ctx" --build-context busybox=oci-layout://"$BASE":latest --reproducible \
    --state-dir "$out.state" --snapshot-mode "$mode" --oci-layout-path "$out" ${EXTRA:-} 2>"$out.log" \
    || fail "$mode build failed: $(cat "$out.log")"
}
a=$(build overlay "$TEST_TMP/overlay" env)
b=$(build copy "$TEST_TMP/copy" env)
[ "$a" = "$b" ] || fail "overlay built $a but copy built $b"
grep -q "snapshotting RUN steps by copying" "$TEST_TMP/copy.log" && fail "an explicit --snapshot-mode copy needs no notice"
unpack_image "$TEST_TMP/copy" latest "$TEST_TMP/u"
[ -e "$TEST_TMP/u/rootfs/etc/group" ] && fail "whiteout lost in copy mode"
[ -e "$TEST_TMP/u/rootfs/app/d" ] && fail "directory whiteout lost in copy mode"
[ "$(stat -c '%u:%g %a' "$TEST_TMP/u/rootfs/app/one")" = "12:34 4644" ] || fail "owner/mode in copy mode"
# --single-snapshot: one layer per stage, the same files as step by step.
single=$(EXTRA=--single-snapshot build copy "$TEST_TMP/single" env)
[ "$(skopeo inspect "oci:$TEST_TMP/single:latest" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["Layers"]))')" = "3" ] \
  || fail "--single-snapshot must give the base layer plus one per stage"
unpack_image "$TEST_TMP/single" latest "$TEST_TMP/us"
listing() { (cd "$1/rootfs" && find . -printf '%p %y %m %U %G %s %l\n' | sort && find . -type f -exec sha256sum {} + | sort); }
[ "$(listing "$TEST_TMP/us")" = "$(listing "$TEST_TMP/u")" ] || fail "--single-snapshot gives different files: $(diff <(listing "$TEST_TMP/us") <(listing "$TEST_TMP/u"))"

if [ "$(id -u)" -eq 0 ]; then
  # With subordinate ids, so the chown is real and the digest can match.
  test_user slipway-cm yes
  c=$(build copy "$TEST_TMP/copy-rootless" runuser -u slipway-cm --)
  [ "$c" = "$a" ] || fail "rootless copy mode built $c, not $a"
fi
pass
