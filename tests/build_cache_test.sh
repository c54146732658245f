#!/usr/bin/env bash
# slipway build --cache against a real registry (Debian's docker-registry)
# and a local --cache-dir: a repeated build is all hits, downloads and
# uploads nothing and gives the same digest; a changed file or build arg
# invalidates exactly the steps that see it; concurrent builds sharing one
# cache both give correct images; an expired --cache-ttl misses.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_fixture/registry.sh"
start_registry
BASE=$(base_image)
push_base_image "$REGISTRY/base/busybox:1"

ctx=$TEST_TMP/ctx
mkdir -p "$ctx"
echo alpha > "$ctx/a.txt"
echo beta > "$ctx/b.txt"
echo ignored > "$ctx/junk.log"
echo '*.log' > "$ctx/.dockerignore"
# Steps: 1 ARG, 2 RUN, 3 COPY, 4 RUN (deletes a file an earlier RUN made:
# a whiteout that must survive a cache hit), 5 ARG, 6 RUN, 7 COPY, 8 RUN
# (fails if hits before it were applied without that whiteout), 9 WORKDIR,
# 10 RUN.
cat > "$ctx/Dockerfile" <<'EOF'
ARG REG
FROM $REG/base/busybox:1
ARG A=a0
RUN echo "a=$A" > /a.out && echo gone > /tmp/gone
COPY a.txt /a.txt
RUN cat /a.txt > /from-a && rm /tmp/gone
ARG B=b0
RUN echo "b=$B" > /b.out
COPY b.txt /b.txt
RUN [ ! -e /tmp/gone ] && cat /b.txt /a.out /b.out > /all
WORKDIR /app
RUN pwd > /app/pwd
EOF

n=0
build() {  # LOG STATE_DIR ARGS...: a fresh state dir is a fresh CI pod
  local log=$1 state=$2; shift 2
  "$SLIPWAY" build --context "$ctx" --build-arg REG="$REGISTRY" --insecure-registry "$REGISTRY" \
    --state-dir "$state" --reproducible --cache -v debug "$@" 2>"$log"
}
cached_steps() {  # LOG: the step numbers that were hits, space-separated
  sed -n 's/^\[stage 1\/1\] step \([0-9]*\)\/10 CACHED.*/\1/p' "$1" | tr '\n' ' ' | sed 's/ $//'
}
blobs() { find "$TEST_TMP/registry/storage/docker/registry/v2/blobs" -type f -name data | sort; }
check_image() {  # REF WANT_ALL: unpack the pushed image and check its files
  rm -rf "$TEST_TMP/pulled" "$TEST_TMP/rootfs"
  skopeo copy --quiet --src-tls-verify=false "docker://$1" "oci:$TEST_TMP/pulled:x" || fail "cannot pull $1"
  unpack_image "$TEST_TMP/pulled" x "$TEST_TMP/rootfs"
  local r=$TEST_TMP/rootfs/rootfs
  [ "$(cat "$r/all")" = "$2" ] || fail "$1: /all is '$(cat "$r/all")', want '$2'"
  [ "$(cat "$r/from-a")" = alpha ] || fail "$1: /from-a"
  [ "$(cat "$r/app/pwd")" = /app ] || fail "$1: /app/pwd"
  [ ! -e "$r/tmp/gone" ] || fail "$1: /tmp/gone was deleted by a RUN but is back"
  [ ! -e "$r/junk.log" ] || fail "$1: an ignored file got in"
}
CACHE="--cache-repo $REGISTRY/cache/app"

# 1. Cold: nothing cached, every cacheable step stored as a tag of the cache repo.
d1=$(build "$TEST_TMP/log1" "$TEST_TMP/s1" $CACHE -d "$REGISTRY/app/img:1") || fail "first build: $(cat "$TEST_TMP/log1")"
[ -z "$(cached_steps "$TEST_TMP/log1")" ] || fail "cold build had hits: $(cached_steps "$TEST_TMP/log1")"
expect_contains "$(cat "$TEST_TMP/log1")" "stored 8 new entries"
tags=$(skopeo list-tags --tls-verify=false "docker://$REGISTRY/cache/app") || fail "no cache repo"
[ "$(json_get "$tags" 'len(j["Tags"])')" = 8 ] || fail "want 8 cache tags: $tags"
check_image "$REGISTRY/app/img:1" "$(printf 'beta\na=a0\nb=b0')"

# 2. Warm, on a fresh pod: all hits, same digest, no blob fetched or pushed.
before=$(blobs)
d2=$(build "$TEST_TMP/log2" "$TEST_TMP/s2" $CACHE -d "$REGISTRY/app/img:1") || fail "second build: $(cat "$TEST_TMP/log2")"
[ "$(cached_steps "$TEST_TMP/log2")" = "2 3 4 6 7 8 9 10" ] || fail "want all hits, got: $(cached_steps "$TEST_TMP/log2")"
[ "$d2" = "$d1" ] || fail "--reproducible: cached build gave $d2, cold $d1"
grep -q "fetching cached layer" "$TEST_TMP/log2" && fail "an all-hit build fetched a layer: $(cat "$TEST_TMP/log2")"
grep -q "^debug: pushed sha256" "$TEST_TMP/log2" && fail "an all-hit build uploaded a blob"
[ "$(blobs)" = "$before" ] || fail "the registry got new blobs"
[ -z "$(ls -A "$TEST_TMP/s2/rootfs" 2>/dev/null)" ] || fail "an all-hit build unpacked the base"
layers=$(skopeo inspect --tls-verify=false "docker://$REGISTRY/app/img:1" | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["Layers"][1:]))')
for l in $layers; do
  [ ! -e "$TEST_TMP/s2/content/blobs/sha256/${l#sha256:}" ] || fail "cached layer $l was downloaded"
done
# To another registry repository: mounted from the cache repo, never uploaded.
build "$TEST_TMP/log2b" "$TEST_TMP/s2b" $CACHE -d "$REGISTRY/other/img:1" >/dev/null || fail "push elsewhere: $(cat "$TEST_TMP/log2b")"
grep -q "fetching cached layer" "$TEST_TMP/log2b" && fail "pushing to another repo fetched a cached layer"
check_image "$REGISTRY/other/img:1" "$(printf 'beta\na=a0\nb=b0')"
# To another registry: it cannot mount from the cache repo, so the push
# fetches the cached layers then (and only the push needs them).
first=$REGISTRY
REGISTRY_DIR=$TEST_TMP/reg2 start_registry
REG2=$REGISTRY REGISTRY=$first
build "$TEST_TMP/log2c" "$TEST_TMP/s2c" $CACHE --insecure-registry "$REG2" -d "$REG2/app/img:1" >/dev/null \
  || fail "push to a second registry: $(cat "$TEST_TMP/log2c")"
[ "$(grep -c "fetching cached layer" "$TEST_TMP/log2c")" = 8 ] || fail "want 8 fetches: $(cat "$TEST_TMP/log2c")"
check_image "$REG2/app/img:1" "$(printf 'beta\na=a0\nb=b0')"

# --cache alone: Kaniko's default cache repo, <destination repo>/cache.
build "$TEST_TMP/log2d" "$TEST_TMP/s2d" -d "$REGISTRY/app/img:1" >/dev/null || fail "--cache alone: $(cat "$TEST_TMP/log2d")"
expect_contains "$(cat "$TEST_TMP/log2d")" "using $REGISTRY/app/img/cache"
skopeo list-tags --tls-verify=false "docker://$REGISTRY/app/img/cache" >/dev/null || fail "no default cache repo"
expect_exit 1 "$SLIPWAY" build --context "$ctx" --state-dir "$TEST_TMP/e" --cache --no-push

# 3. A changed context file invalidates its COPY and every step after it;
# the hits before are fetched and applied only then.
echo BETA > "$ctx/b.txt"
echo "changed but ignored" > "$ctx/junk.log"
build "$TEST_TMP/log3" "$TEST_TMP/s3" $CACHE -d "$REGISTRY/app/img:3" >/dev/null || fail "build 3: $(cat "$TEST_TMP/log3")"
[ "$(cached_steps "$TEST_TMP/log3")" = "2 3 4 6" ] || fail "changed b.txt: hits $(cached_steps "$TEST_TMP/log3")"
expect_contains "$(cat "$TEST_TMP/log3")" "fetching cached layer"
check_image "$REGISTRY/app/img:3" "$(printf 'BETA\na=a0\nb=b0')"

# 4. Build args: B is declared after step 5, so only steps from 6 see it; a
# build arg no ARG declares is seen by none.
build "$TEST_TMP/log4" "$TEST_TMP/s3" $CACHE --build-arg B=b1 -d "$REGISTRY/app/img:4" >/dev/null \
  || fail "build 4: $(cat "$TEST_TMP/log4")"
[ "$(cached_steps "$TEST_TMP/log4")" = "2 3 4" ] || fail "changed B: hits $(cached_steps "$TEST_TMP/log4")"
check_image "$REGISTRY/app/img:4" "$(printf 'BETA\na=a0\nb=b1')"
build "$TEST_TMP/log5" "$TEST_TMP/s3" $CACHE --build-arg B=b1 --build-arg UNDECLARED=x -d "$REGISTRY/app/img:5" \
  >/dev/null || fail "build 5: $(cat "$TEST_TMP/log5")"
[ "$(cached_steps "$TEST_TMP/log5")" = "2 3 4 6 7 8 9 10" ] || fail "undeclared arg: hits $(cached_steps "$TEST_TMP/log5")"
build "$TEST_TMP/log6" "$TEST_TMP/s3" $CACHE --build-arg A=a1 --build-arg B=b1 -d "$REGISTRY/app/img:6" >/dev/null \
  || fail "build 6: $(cat "$TEST_TMP/log6")"
[ -z "$(cached_steps "$TEST_TMP/log6")" ] || fail "changed A: hits $(cached_steps "$TEST_TMP/log6")"
check_image "$REGISTRY/app/img:6" "$(printf 'BETA\na=a1\nb=b1')"

# 5. Two builds at once sharing the cache repo, each on its own pod.
build "$TEST_TMP/logp1" "$TEST_TMP/p1" $CACHE --build-arg B=x -d "$REGISTRY/app/par:x" >/dev/null &
p1=$!
build "$TEST_TMP/logp2" "$TEST_TMP/p2" $CACHE --build-arg B=y -d "$REGISTRY/app/par:y" >/dev/null &
p2=$!
wait $p1 || fail "parallel build x: $(cat "$TEST_TMP/logp1")"
wait $p2 || fail "parallel build y: $(cat "$TEST_TMP/logp2")"
check_image "$REGISTRY/app/par:x" "$(printf 'BETA\na=a0\nb=x')"
check_image "$REGISTRY/app/par:y" "$(printf 'BETA\na=a0\nb=y')"
build "$TEST_TMP/logp3" "$TEST_TMP/p3" $CACHE --build-arg B=y -d "$REGISTRY/app/par:y2" >/dev/null \
  || fail "after parallel: $(cat "$TEST_TMP/logp3")"
[ "$(cached_steps "$TEST_TMP/logp3")" = "2 3 4 6 7 8 9 10" ] || fail "after parallel: hits $(cached_steps "$TEST_TMP/logp3")"

# 6. --cache-dir: the same, with a local directory shared by two pods.
DIR="--cache-dir $TEST_TMP/cachedir"
dd1=$(build "$TEST_TMP/logd1" "$TEST_TMP/d1" $DIR --oci-layout-path "$TEST_TMP/outd1") || fail "dir build 1: $(cat "$TEST_TMP/logd1")"
[ -z "$(cached_steps "$TEST_TMP/logd1")" ] || fail "cold dir build had hits"
[ "$(ls "$TEST_TMP/cachedir/entries" | wc -l)" = 8 ] || fail "want 8 entries: $(ls "$TEST_TMP/cachedir/entries")"
dd2=$(build "$TEST_TMP/logd2" "$TEST_TMP/d2" $DIR --oci-layout-path "$TEST_TMP/outd2") || fail "dir build 2: $(cat "$TEST_TMP/logd2")"
[ "$(cached_steps "$TEST_TMP/logd2")" = "2 3 4 6 7 8 9 10" ] || fail "dir: hits $(cached_steps "$TEST_TMP/logd2")"
[ "$dd1" = "$dd2" ] || fail "dir cache: $dd2 vs $dd1"
unpack_image "$TEST_TMP/outd2" latest "$TEST_TMP/rd2"
[ "$(cat "$TEST_TMP/rd2/rootfs/all")" = "$(printf 'BETA\na=a0\nb=b0')" ] || fail "dir cache image content"
build "$TEST_TMP/logq1" "$TEST_TMP/q1" $DIR --build-arg B=q1 --oci-layout-path "$TEST_TMP/outq1" >/dev/null &
p1=$!
build "$TEST_TMP/logq2" "$TEST_TMP/q2" $DIR --build-arg B=q2 --oci-layout-path "$TEST_TMP/outq2" >/dev/null &
p2=$!
wait $p1 || fail "parallel dir build 1: $(cat "$TEST_TMP/logq1")"
wait $p2 || fail "parallel dir build 2: $(cat "$TEST_TMP/logq2")"
for q in q1 q2; do
  unpack_image "$TEST_TMP/out$q" latest "$TEST_TMP/r$q"
  [ "$(cat "$TEST_TMP/r$q/rootfs/all")" = "$(printf 'BETA\na=a0\nb=%s' $q)" ] || fail "parallel dir build $q content"
done
# Both given: the directory is asked first.
build "$TEST_TMP/logboth" "$TEST_TMP/both" $DIR $CACHE --no-push >/dev/null || fail "both: $(cat "$TEST_TMP/logboth")"
[ "$(cached_steps "$TEST_TMP/logboth")" = "2 3 4 6 7 8 9 10" ] || fail "both: hits $(cached_steps "$TEST_TMP/logboth")"

# 7. COPY --from another stage is keyed by that stage's steps: all hits
# apply nothing; a miss after it makes both stages' files real.
mkdir -p "$TEST_TMP/ms"
cat > "$TEST_TMP/ms/Dockerfile" <<'EOF'
ARG REG
FROM $REG/base/busybox:1 AS build
RUN mkdir /out && echo built > /out/x
COPY a.txt /out/a
FROM $REG/base/busybox:1
COPY --from=build /out /out
RUN cat /out/x /out/a > /res
EOF
ms() { local log=$1 state=$2; shift 2; build "$log" "$state" $DIR -f "$TEST_TMP/ms/Dockerfile" "$@"; }
ms "$TEST_TMP/logm1" "$TEST_TMP/m1" --no-push >/dev/null || fail "multi-stage 1: $(cat "$TEST_TMP/logm1")"
ms "$TEST_TMP/logm2" "$TEST_TMP/m2" --no-push >/dev/null || fail "multi-stage 2: $(cat "$TEST_TMP/logm2")"
[ "$(grep -c ' CACHED' "$TEST_TMP/logm2")" = 4 ] || fail "multi-stage: want 4 hits: $(cat "$TEST_TMP/logm2")"
grep -q "fetching cached layer" "$TEST_TMP/logm2" && fail "multi-stage all-hit build fetched a layer"
echo ALPHA > "$ctx/a.txt"
ms "$TEST_TMP/logm3" "$TEST_TMP/m3" --oci-layout-path "$TEST_TMP/outm3" >/dev/null || fail "multi-stage 3: $(cat "$TEST_TMP/logm3")"
[ "$(grep -c ' CACHED' "$TEST_TMP/logm3")" = 1 ] || fail "multi-stage: want 1 hit: $(cat "$TEST_TMP/logm3")"
unpack_image "$TEST_TMP/outm3" latest "$TEST_TMP/rm3"
[ "$(cat "$TEST_TMP/rm3/rootfs/res")" = "$(printf 'built\nALPHA')" ] || fail "multi-stage result: $(cat "$TEST_TMP/rm3/rootfs/res")"

# 8. --cache-ttl: entries older than it are misses.
sleep 2
build "$TEST_TMP/logt" "$TEST_TMP/t" $DIR --cache-ttl 1s --no-push >/dev/null || fail "ttl: $(cat "$TEST_TMP/logt")"
[ -z "$(cached_steps "$TEST_TMP/logt")" ] || fail "expired entries hit: $(cached_steps "$TEST_TMP/logt")"
expect_exit 2 "$SLIPWAY" build --context "$ctx" --cache --cache-dir "$TEST_TMP/x" --cache-ttl 2weeks --no-push

# 9. A cache repo nobody answers at: one warning, every step runs, the build succeeds.
dead=127.0.0.1:$(free_port)
build "$TEST_TMP/logx" "$TEST_TMP/x" --cache-repo "$dead/cache" --insecure-registry "$dead" --no-push >/dev/null \
  || fail "an unreachable cache failed the build: $(cat "$TEST_TMP/logx")"
[ "$(grep -c "^warning: cache $dead" "$TEST_TMP/logx")" = 1 ] || fail "want one warning: $(cat "$TEST_TMP/logx")"
[ -z "$(cached_steps "$TEST_TMP/logx")" ] || fail "hits from nowhere"
# 10. ADD of a URL: keyed by its --checksum; without one, always a miss.
mkdir -p "$TEST_TMP/www" "$TEST_TMP/uctx"
echo remote > "$TEST_TMP/www/r.txt"
port=$(free_port)
(cd "$TEST_TMP/www" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
web=$!
at_exit "kill $web"
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
echo m1 > "$TEST_TMP/uctx/m.txt"
echo junk.txt > "$TEST_TMP/uctx/.dockerignore"
cat > "$TEST_TMP/uctx/Dockerfile" <<EOF
FROM busybox
RUN --mount=type=bind,source=m.txt,target=/m cat /m > /mres
ADD --checksum=sha256:$(sha256_hex "$TEST_TMP/www/r.txt") http://127.0.0.1:$port/r.txt /r.txt
ADD http://127.0.0.1:$port/r.txt /r2.txt
RUN cat /r.txt /r2.txt > /res
EOF
for i in 1 2; do
  "$SLIPWAY" build --context "$TEST_TMP/uctx" --build-context busybox=oci-layout://"$BASE":latest \
    --state-dir "$TEST_TMP/u$i" --cache --cache-dir "$TEST_TMP/ucache" --no-push 2>"$TEST_TMP/logu$i" >/dev/null \
    || fail "ADD url build $i: $(cat "$TEST_TMP/logu$i")"
done
hits() { grep ' CACHED' "$1" | sed 's/.*step \([0-9]\).*/\1/' | tr '\n' ' '; }
[ "$(hits "$TEST_TMP/logu2")" = "1 2 " ] || fail "ADD url: want steps 1 2 cached: $(cat "$TEST_TMP/logu2")"
# A bound file is an input.
echo m2 > "$TEST_TMP/uctx/m.txt"
"$SLIPWAY" build --context "$TEST_TMP/uctx" --build-context busybox=oci-layout://"$BASE":latest \
  --state-dir "$TEST_TMP/u3" --cache --cache-dir "$TEST_TMP/ucache" --no-push 2>"$TEST_TMP/logu3" >/dev/null \
  || fail "bind mount build: $(cat "$TEST_TMP/logu3")"
[ -z "$(hits "$TEST_TMP/logu3")" ] || fail "changed bind source: hits $(hits "$TEST_TMP/logu3")"

# 11. Rootless (with and without a subordinate id range): hits before a miss
# are applied inside the user namespace, deletions included.
if [ "$(id -u)" -eq 0 ]; then
  bin=$(user_binary)
  rctx=$TEST_TMP/rctx
  mkdir -p "$rctx"
  echo one > "$rctx/a.txt"
  cat > "$rctx/Dockerfile" <<'EOF'
FROM busybox
RUN echo gone > /tmp/gone && echo 1 > /one
RUN rm /tmp/gone && echo 2 > /two
COPY a.txt /a.txt
RUN [ ! -e /tmp/gone ] && cat /one /two /a.txt > /res
EOF
  chmod -R a+rX "$rctx" "$BASE"
  for spec in "slipway-cache1 yes" "slipway-cache2 no"; do
    set -- $spec
    test_user "$1" "$2"
    home=$TEST_TMP/home-$1
    mkdir -p "$home" && chown "$1" "$home"
    echo one > "$rctx/a.txt"
    for i in 1 2; do
      [ $i = 2 ] && echo two > "$rctx/a.txt"
      runuser -u "$1" -- env HOME=/nonexistent "$bin" build --context "$rctx" \
        --build-context busybox=oci-layout://"$BASE":latest --state-dir "$home/state$i" --reproducible \
        --cache --cache-dir "$home/cache" --oci-layout-path "$home/out$i" >/dev/null 2>"$home/log$i" \
        || fail "rootless ($1) build $i: $(cat "$home/log$i")"
    done
    [ "$(grep -c ' CACHED' "$home/log2")" = 2 ] || fail "rootless ($1): want 2 hits: $(cat "$home/log2")"
    unpack_image "$home/out2" latest "$home/root"
    [ "$(cat "$home/root/rootfs/res")" = "$(printf '1\n2\ntwo')" ] || fail "rootless ($1): /res"
    [ ! -e "$home/root/rootfs/tmp/gone" ] || fail "rootless ($1): /tmp/gone is back"
  done
fi
pass
