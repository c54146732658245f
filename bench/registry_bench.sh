#!/usr/bin/env bash
# Registry push and pull against `skopeo copy`, both talking to a real local
# docker-registry (Debian's distribution 2.8, plain HTTP on 127.0.0.1,
# started as tests/registry_fixture does, with its access log on so requests
# can be counted), in the same run:
#
#   1. push of a ~500 MB, 6-layer image from an OCI layout into a fresh
#      registry (storage wiped, so neither side can skip a blob);
#   2. the same push again when nothing changed: requests and time;
#   3. pull of that image from the registry into a fresh OCI layout.
#
# Slipway's side is `slipway copy`. With SLIPWAY_MODE=build (the default
# for a binary without `copy`) it is instead `slipway build --destination` of
# `FROM scratch` + one COPY per layer of the same data (so it also tars and
# gzips ~770 MB, with --reproducible so a rebuild makes the same blobs) and,
# for (3), a `FROM REGISTRY/IMAGE` + LABEL build with --no-push (pulls every
# layer into a fresh content store, then unpacks them); the output says which.
#
#   bench/registry_bench.sh [REPEAT]    # default 3; median of REPEAT, runs alternate
#   SLIPWAY=path/to/slipway BENCH_DIR=/var/tmp/x SLIPWAY_MODE=copy|build bench/registry_bench.sh
#
# Needs: docker-registry skopeo (apt-get). Image data (~1.3 GB with the
# context) is made once and kept in $BENCH_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
SLIPWAY=${SLIPWAY:-$PWD/build/builder/slipway}
REPEAT=${1:-3}
work=${BENCH_DIR:-/var/tmp/slipway-regbench}
for t in docker-registry skopeo; do
  command -v "$t" >/dev/null || { echo "registry_bench: apt-get install docker-registry skopeo" >&2; exit 1; }
done
[ -x "$SLIPWAY" ] || { echo "registry_bench: no slipway at $SLIPWAY (set SLIPWAY=)" >&2; exit 1; }
mkdir -p "$work"
img=$work/image   # OCI layout, tag "bench"
ctx=$work/ctx     # the same files as a build context

# --- the image ---------------------------------------------------------------
# Layers: 3 of random bytes (gzip cannot shrink them), one of `seq` text
# (gzip ~5x), one of base64 text (~1.3x), one small. Made with GNU tar and
# gzip, independent of Slipway.
make_image() {
  rm -rf "$img" "$ctx" "$work/mk"
  mkdir -p "$img/blobs/sha256" "$ctx" "$work/mk"
  local sizes=(l1:rand:130 l2:rand:130 l3:rand:90 l4:seq:0 l5:b64:60 l6:small:0) spec n kind mb
  for spec in "${sizes[@]}"; do
    IFS=: read -r n kind mb <<<"$spec"
    mkdir -p "$ctx/$n"
    case $kind in
      rand) head -c "${mb}M" /dev/urandom >"$ctx/$n/data" ;;
      seq) seq 1 40000000 >"$ctx/$n/data" ;;   # 350 MB of text
      b64) head -c "${mb}M" /dev/urandom | base64 >"$ctx/$n/data" ;;
      small) for i in $(seq 1 200); do echo "file $i" >"$ctx/$n/f$i"; done ;;
    esac
  done
  local layers="" diff_ids="" sep=""
  for spec in "${sizes[@]}"; do
    n=${spec%%:*}
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$ctx" -cf "$work/mk/$n.tar" "$n"
    local diff_id digest size
    diff_id=$(sha256sum "$work/mk/$n.tar" | cut -d' ' -f1)
    gzip -n -6 "$work/mk/$n.tar"
    digest=$(sha256sum "$work/mk/$n.tar.gz" | cut -d' ' -f1)
    size=$(stat -c %s "$work/mk/$n.tar.gz")
    mv "$work/mk/$n.tar.gz" "$img/blobs/sha256/$digest"
    layers+="$sep{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$digest\",\"size\":$size}"
    diff_ids+="$sep\"sha256:$diff_id\""
    sep=,
  done
  printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[%s]}}' "$diff_ids" >"$work/mk/config"
  local cd cs md ms
  cd=$(sha256sum "$work/mk/config" | cut -d' ' -f1); cs=$(stat -c %s "$work/mk/config")
  mv "$work/mk/config" "$img/blobs/sha256/$cd"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
    "$cd" "$cs" "$layers" >"$work/mk/manifest"
  md=$(sha256sum "$work/mk/manifest" | cut -d' ' -f1); ms=$(stat -c %s "$work/mk/manifest")
  mv "$work/mk/manifest" "$img/blobs/sha256/$md"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$img/oci-layout"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"bench"}}]}' \
    "$md" "$ms" >"$img/index.json"
  { echo 'FROM scratch'; for spec in "${sizes[@]}"; do echo "COPY ${spec%%:*} /${spec%%:*}"; done; } >"$ctx/Dockerfile"
  rm -rf "$work/mk"
}
[ -f "$img/index.json" ] && [ -f "$ctx/Dockerfile" ] || make_image
image_mb=$(du -smc "$img"/blobs/sha256/* | tail -1 | cut -f1)
[ "$(uname -m)" = x86_64 ] || { echo "registry_bench: the image says amd64; run on x86_64" >&2; exit 1; }

# --- the registry ------------------------------------------------------------
reg_pid=""
stop_registry() {
  if [ -n "$reg_pid" ]; then kill "$reg_pid" 2>/dev/null || true; wait "$reg_pid" 2>/dev/null || true; reg_pid=""; fi
}
# The access log stays for a look at the requests; the stored blobs go.
trap 'stop_registry; rm -rf "$work/state" "$work/pull-"* "$work/registry/storage"' EXIT
# The tests' fixture starts it; this script stops it itself, between runs.
fail() { echo "registry_bench: $*" >&2; exit 1; }
at_exit() { :; }
source tests/registry_fixture/registry.sh
# A fresh registry (empty storage) on a new port each time: skopeo's
# blob-info cache (kept per registry host) would otherwise send it probing
# repositories of earlier runs. One line per request in
# $work/registry/access.log.
start_fresh_registry() {
  stop_registry
  rm -rf "$work/registry"
  REGISTRY_DIR=$work/registry REGISTRY_ACCESS_LOG=yes start_registry
  reg_pid=$REGISTRY_PID
  REG=$REGISTRY
}
requests() { grep -cE '"(GET|HEAD|PUT|POST|PATCH|DELETE) /v2/' "$work/registry/access.log" || true; }
# "HEAD 7, PUT 1" for access log lines after line $1.
request_summary() {
  tail -n +"$(($1 + 1))" "$work/registry/access.log" | grep -oE '"(GET|HEAD|PUT|POST|PATCH|DELETE) /v2/' |
    cut -c2- | cut -d' ' -f1 | sort | uniq -c | awk '{printf "%s%s %s", sep, $2, $1; sep=", "}'
}

# --- the two sides -----------------------------------------------------------
has_copy=no
"$SLIPWAY" copy --help >/dev/null 2>&1 && has_copy=yes
[ "${SLIPWAY_MODE:-copy}" = build ] && has_copy=no
err=$work/last.err
run() {  # WHAT CMD...: runs quietly, dies with the tool's stderr on failure
  local what=$1; shift
  "$@" >/dev/null 2>"$err" || { echo "$what failed: $*" >&2; cat "$err" >&2; exit 1; }
}
push_slipway() {  # REPO
  rm -rf "$work/state"
  if [ $has_copy = yes ]; then
    run "slipway copy" "$SLIPWAY" copy -q oci:"$img":bench "docker://$REG/$1:bench" --insecure-registry "$REG" \
      --state-dir "$work/state"
  else
    run "slipway build" "$SLIPWAY" build --context "$ctx" --destination "$REG/$1:bench" --insecure-registry "$REG" \
      --state-dir "$work/state" --reproducible
  fi
}
push_skopeo() {  # REPO
  run "skopeo copy" skopeo copy --quiet --dest-tls-verify=false oci:"$img":bench "docker://$REG/$1:bench"
}
pull_slipway() {  # REPO DIR
  rm -rf "$2" "$work/state"
  if [ $has_copy = yes ]; then
    run "slipway copy" "$SLIPWAY" copy -q "docker://$REG/$1:bench" oci:"$2":bench --insecure-registry "$REG" \
      --state-dir "$work/state"
  else
    mkdir -p "$2"
    printf 'FROM %s\nLABEL pulled=yes\n' "$REG/$1:bench" >"$2/Dockerfile"
    run "slipway build" "$SLIPWAY" build --context "$2" --no-push --insecure-registry "$REG" --state-dir "$work/state"
  fi
}
pull_skopeo() {  # REPO DIR
  rm -rf "$2"
  run "skopeo copy" skopeo copy --quiet --src-tls-verify=false "docker://$REG/$1:bench" oci:"$2":bench
}

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timed() { local t0 t1; t0=$(now); "$@"; t1=$(now); echo "$t1 - $t0" | bc; }
# Writeback of the previous run's files must not land in the next one.
settle() { sync; sleep 1; }

slipway_push_how="slipway copy oci: docker://"
[ $has_copy = yes ] || slipway_push_how="slipway build --destination (FROM scratch + 6 COPY: includes tar+gzip)"
slipway_pull_how="slipway copy docker:// oci:"
[ $has_copy = yes ] || slipway_pull_how="slipway build --no-push FROM the image + LABEL (pull into a fresh content store, unpack)"
echo "slipway $("$SLIPWAY" version | head -1 | cut -d' ' -f2), $(skopeo --version), docker-registry $(dpkg-query -W -f='${Version}' docker-registry 2>/dev/null || echo '?')"
echo "image: ${image_mb} MiB in 6 gzip layers; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); median of $REPEAT"
echo "slipway push: $slipway_push_how"
echo "slipway pull: $slipway_pull_how"

# 1. Fresh push: each run into a fresh registry, alternating who goes first.
ss=() ks=()
start_fresh_registry
push_skopeo warmup; push_slipway warmup  # the page cache holds the layout (and context) for both
for i in $(seq 1 "$REPEAT"); do
  for who in slipway skopeo; do
    [ $((i % 2)) -eq 0 ] && who=$([ $who = slipway ] && echo skopeo || echo slipway)
    start_fresh_registry; settle
    t=$(timed "push_$who" "fresh$i")
    if [ $who = slipway ]; then ss+=("$t"); else ks+=("$t"); fi
    printf '  push %d %-8s %6.2fs  (%s requests)\n' "$i" "$who" "$t" "$(request_summary 0)"
  done
done
s=$(printf '%s\n' "${ss[@]}" | median); k=$(printf '%s\n' "${ks[@]}" | median)
printf '%-44s %9s %9s %14s\n' "" slipway skopeo skopeo/slipway
printf '%-44s %8.2fs %8.2fs %13.2fx\n' "1. push ${image_mb} MiB, fresh registry" "$s" "$k" "$(echo "$k / $s" | bc -l)"

# 2. Push again, nothing changed: both into a registry that has the image
#    under their own repository.
start_fresh_registry
push_slipway again-slipway; push_skopeo again-skopeo
ss=() ks=() sreq="" kreq=""
for i in $(seq 1 "$REPEAT"); do
  n=$(requests); t=$(timed push_slipway again-slipway); ss+=("$t"); sreq="$(($(requests) - n)) ($(request_summary "$n"))"
  n=$(requests); t=$(timed push_skopeo again-skopeo); ks+=("$t"); kreq="$(($(requests) - n)) ($(request_summary "$n"))"
done
s=$(printf '%s\n' "${ss[@]}" | median); k=$(printf '%s\n' "${ks[@]}" | median)
printf '%-44s %8.2fs %8.2fs %13.2fx\n' "2. push again, nothing changed" "$s" "$k" "$(echo "$k / $s" | bc -l)"
printf '     requests: slipway %s; skopeo %s; needed: %d HEAD (one per blob) + 1 PUT\n' "$sreq" "$kreq" "$(($(ls "$img/blobs/sha256" | wc -l) - 1))"

# 3. Pull the layout's image (pushed by skopeo above) into a fresh layout.
ss=() ks=()
for i in $(seq 1 "$REPEAT"); do
  for who in slipway skopeo; do
    [ $((i % 2)) -eq 0 ] && who=$([ $who = slipway ] && echo skopeo || echo slipway)
    settle
    t=$(timed "pull_$who" again-skopeo "$work/pull-$who")
    if [ $who = slipway ]; then ss+=("$t"); else ks+=("$t"); fi
  done
done
s=$(printf '%s\n' "${ss[@]}" | median); k=$(printf '%s\n' "${ks[@]}" | median)
printf '%-44s %8.2fs %8.2fs %13.2fx\n' "3. pull ${image_mb} MiB into a fresh layout" "$s" "$k" "$(echo "$k / $s" | bc -l)"
