#!/usr/bin/env bash
# slipway build --cache, the finer points (docs/cache.md): an all-hit build
# fetches only the base's manifest and config; a hit from --cache-repo is
# written through to --cache-dir; COPY --from a --build-context is keyed by
# its content; a RUN bind mount of the context hides what .dockerignore
# excludes and is keyed by what it shows.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_fixture/registry.sh"
BASE=$(base_image)

# A registry with its access log on (one line per request).
REGISTRY_DIR=$TEST_TMP/reg REGISTRY_ACCESS_LOG=yes start_registry
REG=$REGISTRY
push_base_image "$REG/base/busybox:1"
base_layers=$(skopeo inspect --tls-verify=false "docker://$REG/base/busybox:1" |
  python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["Layers"]))')
[ -n "$base_layers" ] || fail "no base layers"
# GETs of the base's layer blobs since access log line $1.
base_layer_gets() {
  local n=0 l
  for l in $base_layers; do
    n=$((n + $(tail -n +"$(($1 + 1))" "$TEST_TMP/reg/access.log" | grep -c "\"GET /v2/base/busybox/blobs/$l")))
  done
  echo $n
}
log_lines() { wc -l < "$TEST_TMP/reg/access.log"; }

ctx=$TEST_TMP/ctx
mkdir -p "$ctx"
echo alpha > "$ctx/a.txt"
cat > "$ctx/Dockerfile" <<'EOF2'
ARG REG
FROM $REG/base/busybox:1
RUN echo one > /one
COPY a.txt /a.txt
RUN cat /one /a.txt > /res
EOF2
build() {  # LOG STATE_DIR ARGS...: a fresh state dir is a fresh CI pod
  local log=$1 state=$2; shift 2
  "$SLIPWAY" build --context "$ctx" --build-arg REG="$REG" --insecure-registry "$REG" \
    --state-dir "$state" --reproducible --cache -v debug "$@" 2>"$log" || { echo "exit $?" >>"$log"; return 1; }
}
hits() { grep -c ' CACHED' "$1"; }
CACHE="--cache-repo $REG/cache/app"

# 1. A cold build pulls the base; an all-hit one on a fresh pod fetches only
# its manifest and config, and a push to the same registry mounts its layers.
n0=$(log_lines)
d1=$(build "$TEST_TMP/log1" "$TEST_TMP/s1" $CACHE -d "$REG/app/img:1") || fail "cold build: $(cat "$TEST_TMP/log1")"
[ "$(base_layer_gets "$n0")" -ge 1 ] || fail "the cold build did not pull the base (access log not counted?)"
n1=$(log_lines)
d2=$(build "$TEST_TMP/log2" "$TEST_TMP/s2" $CACHE -d "$REG/app/img:2") || fail "warm build: $(cat "$TEST_TMP/log2")"
[ "$(hits "$TEST_TMP/log2")" = 3 ] || fail "want 3 hits: $(cat "$TEST_TMP/log2")"
[ "$d2" = "$d1" ] || fail "warm build gave $d2, cold $d1"
[ "$(base_layer_gets "$n1")" = 0 ] || fail "an all-hit build pulled base layers: $(tail -n +"$((n1 + 1))" "$TEST_TMP/reg/access.log" | grep GET)"
grep -q "^pulling sha256" "$TEST_TMP/log2" && fail "an all-hit build says it pulled"
tail -n +"$((n1 + 1))" "$TEST_TMP/reg/access.log" | grep -q '"GET /v2/base/busybox/manifests/' || fail "no base manifest GET"
# An output that must hold the bytes pulls them then.
n2=$(log_lines)
build "$TEST_TMP/log3" "$TEST_TMP/s3" $CACHE --no-push --oci-layout-path "$TEST_TMP/out3" >/dev/null \
  || fail "layout build: $(cat "$TEST_TMP/log3")"
[ "$(base_layer_gets "$n2")" -ge 1 ] || fail "an OCI layout output did not pull the base layers"
unpack_image "$TEST_TMP/out3" latest "$TEST_TMP/r3"
[ "$(cat "$TEST_TMP/r3/rootfs/res")" = "$(printf 'one\nalpha')" ] || fail "layout output content"
# A miss needs the base's files: pulled and unpacked then.
echo ALPHA > "$ctx/a.txt"
build "$TEST_TMP/log4" "$TEST_TMP/s4" $CACHE --no-push --oci-layout-path "$TEST_TMP/out4" >/dev/null \
  || fail "miss build: $(cat "$TEST_TMP/log4")"
[ "$(hits "$TEST_TMP/log4")" = 1 ] || fail "want 1 hit: $(cat "$TEST_TMP/log4")"
unpack_image "$TEST_TMP/out4" latest "$TEST_TMP/r4"
[ "$(cat "$TEST_TMP/r4/rootfs/res")" = "$(printf 'one\nALPHA')" ] || fail "miss build content"
echo alpha > "$ctx/a.txt"

# 2. Both places: a hit found in the cache repo is copied into the cache dir,
# so the next build on this machine hits there without asking the registry.
build "$TEST_TMP/log5" "$TEST_TMP/s5" $CACHE --cache-dir "$TEST_TMP/cd" --no-push >/dev/null \
  || fail "both: $(cat "$TEST_TMP/log5")"
[ "$(hits "$TEST_TMP/log5")" = 3 ] || fail "both: want 3 hits: $(cat "$TEST_TMP/log5")"
expect_contains "$(cat "$TEST_TMP/log5")" "copied 3 hits from the cache repo"
[ "$(ls "$TEST_TMP/cd/entries" | wc -l)" = 3 ] || fail "want 3 entries in the dir: $(ls "$TEST_TMP/cd/entries")"
n5=$(log_lines)
build "$TEST_TMP/log6" "$TEST_TMP/s6" --cache-dir "$TEST_TMP/cd" --no-push --oci-layout-path "$TEST_TMP/out6" >/dev/null \
  || fail "dir only: $(cat "$TEST_TMP/log6")"
[ "$(hits "$TEST_TMP/log6")" = 3 ] || fail "written-through entries: want 3 hits: $(cat "$TEST_TMP/log6")"
tail -n +"$((n5 + 1))" "$TEST_TMP/reg/access.log" | grep -q '"GET /v2/cache/' && fail "the dir-only build asked the cache repo"
unpack_image "$TEST_TMP/out6" latest "$TEST_TMP/r6"
[ "$(cat "$TEST_TMP/r6/rootfs/res")" = "$(printf 'one\nalpha')" ] || fail "written-through image content"
# A dir hit is not copied anywhere.
build "$TEST_TMP/log7" "$TEST_TMP/s7" $CACHE --cache-dir "$TEST_TMP/cd" --no-push >/dev/null || fail "both again"
grep -q "copied" "$TEST_TMP/log7" && fail "dir hits were copied: $(cat "$TEST_TMP/log7")"

# 3. COPY --from a --build-context is keyed by the context's content.
arch=$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')
make_oci_image "$TEST_TMP/src1" "$arch"
bctx=$TEST_TMP/bctx
mkdir -p "$bctx"
cat > "$bctx/Dockerfile" <<'EOF2'
FROM busybox
COPY --from=src /etc /srcetc
RUN ls /srcetc > /list
EOF2
bc() {  # LOG STATE SRC_LAYOUT
  "$SLIPWAY" build --context "$bctx" --build-context busybox=oci-layout://"$BASE":latest \
    --build-context src=oci-layout://"$3":latest --state-dir "$2" --cache --cache-dir "$TEST_TMP/bcache" \
    --oci-layout-path "$2.out" -v debug 2>"$1" >/dev/null || fail "build-context build: $(cat "$1")"
}
bc "$TEST_TMP/logb1" "$TEST_TMP/b1" "$TEST_TMP/src1"
bc "$TEST_TMP/logb2" "$TEST_TMP/b2" "$TEST_TMP/src1"
[ "$(hits "$TEST_TMP/logb2")" = 2 ] || fail "COPY --from a build context: want 2 hits: $(cat "$TEST_TMP/logb2")"
unpack_image "$TEST_TMP/b2.out" latest "$TEST_TMP/rb2"
[ "$(cat "$TEST_TMP/rb2/rootfs/list")" = hello.txt ] || fail "build context copy: $(cat "$TEST_TMP/rb2/rootfs/list")"
# Another image under the same name: a miss, and the new files.
bc "$TEST_TMP/logb3" "$TEST_TMP/b3" "$BASE"
[ "$(hits "$TEST_TMP/logb3")" = 0 ] || fail "a changed build context hit: $(cat "$TEST_TMP/logb3")"
unpack_image "$TEST_TMP/b3.out" latest "$TEST_TMP/rb3"
grep -qx passwd "$TEST_TMP/rb3/rootfs/list" || fail "changed build context: $(cat "$TEST_TMP/rb3/rootfs/list")"

# 4. A RUN bind mount of the context shows what .dockerignore lets in, and
# is keyed by that alone.
ictx=$TEST_TMP/ictx
mkdir -p "$ictx/sub" "$ictx/node_modules/x"
echo keep > "$ictx/a.txt"
echo s3cr3t > "$ictx/secret.txt"
echo deep > "$ictx/sub/hidden.key"
echo dep > "$ictx/node_modules/x/i.js"
printf 'secret.txt\nnode_modules\n**/*.key\n' > "$ictx/.dockerignore"
cat > "$ictx/Dockerfile" <<'EOF2'
FROM busybox
RUN --mount=type=bind,target=/ctx ls -a /ctx /ctx/sub > /ls && cat /ctx/a.txt > /a
EOF2
ib() {  # LOG STATE
  "$SLIPWAY" build --context "$ictx" --build-context busybox=oci-layout://"$BASE":latest --state-dir "$2" \
    --cache --cache-dir "$TEST_TMP/icache" --oci-layout-path "$2.out" -v debug 2>"$1" >/dev/null \
    || fail "bind build: $(cat "$1")"
}
ib "$TEST_TMP/logi1" "$TEST_TMP/i1"
unpack_image "$TEST_TMP/i1.out" latest "$TEST_TMP/ri1"
ls_out=$(cat "$TEST_TMP/ri1/rootfs/ls")
expect_contains "$ls_out" "a.txt"
expect_contains "$ls_out" "Dockerfile"
[[ "$ls_out" == *secret.txt* || "$ls_out" == *node_modules* || "$ls_out" == *hidden.key* ]] \
  && fail "the bind mount shows ignored files: $ls_out"
[ -e "$ictx/secret.txt" ] || fail "the context lost a file"
# Changing an ignored file keeps the hit; changing a shown one misses.
echo other > "$ictx/secret.txt"
ib "$TEST_TMP/logi2" "$TEST_TMP/i2"
[ "$(hits "$TEST_TMP/logi2")" = 1 ] || fail "an ignored file invalidated the bind: $(cat "$TEST_TMP/logi2")"
echo changed > "$ictx/a.txt"
ib "$TEST_TMP/logi3" "$TEST_TMP/i3"
[ "$(hits "$TEST_TMP/logi3")" = 0 ] || fail "a changed bound file hit: $(cat "$TEST_TMP/logi3")"
unpack_image "$TEST_TMP/i3.out" latest "$TEST_TMP/ri3"
[ "$(cat "$TEST_TMP/ri3/rootfs/a")" = changed ] || fail "bind content after a change"

# 5. slipway cache prune: entries past --older-than go (their blobs stay for
# an hour: a build may be writing them), and the next build misses.
out=$("$SLIPWAY" cache prune --cache-dir "$TEST_TMP/icache" --older-than 336h) || fail "prune: $out"
expect_contains "$out" "removed 0 entries and 0 blobs"
sleep 2
out=$("$SLIPWAY" cache prune --cache-dir "$TEST_TMP/icache" --older-than 1s) || fail "prune 1s: $out"
expect_contains "$out" "removed 2 entries"
expect_contains "$out" "kept 0 entries"
[ -z "$(ls "$TEST_TMP/icache/entries")" ] || fail "entries left: $(ls "$TEST_TMP/icache/entries")"
ib "$TEST_TMP/logi4" "$TEST_TMP/i4"
[ "$(hits "$TEST_TMP/logi4")" = 0 ] || fail "a pruned entry hit"
expect_exit 2 "$SLIPWAY" cache prune --cache-dir "$TEST_TMP/icache" --older-than 2weeks
expect_exit 2 "$SLIPWAY" cache prune
expect_exit 1 "$SLIPWAY" cache prune --cache-dir "$TEST_TMP/nonexistent"
pass
