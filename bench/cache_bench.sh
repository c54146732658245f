#!/usr/bin/env bash
# The layer cache: a fully cached rebuild against the same build uncached,
# same machine, same run. Dockerfile: four RUN and one COPY on the busybox
# base (tests/make_base_image.sh): 2 x 16 MB of random bytes, 2,000 small
# files, a checksum of a 10 MB / 200-file COPY. Three setups:
#
#   dir:   --no-push, uncached vs --cache --cache-dir (a local volume)
#   repo:  push to a local docker-registry, uncached vs --cache --cache-repo
#          on the same registry, each rebuild on a fresh --state-dir (a new
#          CI pod: nothing local but the base)
#
#   bench/cache_bench.sh [REPEAT]     # needs: docker-registry (apt-get)
set -euo pipefail
cd "$(dirname "$0")/.."
SLIPWAY=${SLIPWAY:-$PWD/build/builder/slipway}
REPEAT=${1:-3}
work=$(mktemp -d /var/tmp/slipway-cache-bench.XXXXXX)
reg_pid=""
cleanup() { [ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
command -v docker-registry >/dev/null || { echo "cache_bench: apt-get install docker-registry"; exit 1; }

tests/make_base_image.sh "$work/base" latest >/dev/null
ctx=$work/ctx
mkdir -p "$ctx/data"
for i in $(seq 1 200); do head -c 50000 /dev/urandom > "$ctx/data/f$i"; done
cat > "$ctx/Dockerfile" <<'EOF'
FROM base
RUN dd if=/dev/urandom of=/r1 bs=1M count=16 2>/dev/null
COPY data/ /data/
RUN i=0; while [ $i -lt 2000 ]; do echo $i > /tmp/f$i; i=$((i+1)); done
RUN cat /data/* | md5sum > /sum
RUN dd if=/dev/urandom of=/r2 bs=1M count=16 2>/dev/null
EOF

fail() { echo "cache_bench: $*" >&2; exit 1; }
at_exit() { :; }
source tests/registry_fixture/registry.sh
REGISTRY_DIR=$work/registry start_registry
reg_pid=$REGISTRY_PID
REG=$REGISTRY

n=0
build() {  # STATE_DIR ARGS...
  n=$((n + 1))
  "$SLIPWAY" build --context "$ctx" --build-context base=oci-layout://"$work/base":latest --state-dir "$1" \
    --insecure-registry "$REG" "${@:2}" >/dev/null 2>"$work/err" \
    || { echo "slipway build failed: $(cat "$work/err")" >&2; exit 1; }
  grep -c " CACHED" "$work/err" > "$work/hits" || true
}
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() {  # FRESH_STATE(yes|no) ARGS...: median seconds of REPEAT builds
  local i t0 t1 state fresh=$1; shift
  for i in $(seq 1 "$REPEAT"); do
    state=$work/state
    [ "$fresh" = yes ] && state=$work/state-$n-$i
    t0=$(now); build "$state" "$@"; t1=$(now)
    [ "$fresh" = yes ] && rm -rf "$state"
    echo "$t1 - $t0" | bc
  done | median
}

echo "slipway $("$SLIPWAY" version | head -1 | cut -d' ' -f2); $(nproc) cores; median of $REPEAT"
printf '%-52s %10s %10s %9s\n' setup uncached cached speedup
build "$work/state" --no-push   # warm: base unpacked, page cache

build "$work/state" --no-push --cache --cache-dir "$work/cachedir"   # fills the cache
u=$(measure no --no-push)
c=$(measure no --no-push --cache --cache-dir "$work/cachedir")
[ "$(cat "$work/hits")" = 5 ] || { echo "cache_bench: the cached build did not hit every step" >&2; exit 1; }
printf '%-52s %9.2fs %9.2fs %8.1fx\n' "dir: --no-push, --cache-dir" "$u" "$c" "$(echo "$u / $c" | bc -l)"

build "$work/state" -d "$REG/app/img:1" --cache --cache-repo "$REG/app/cache"   # fills the cache
u=$(measure yes -d "$REG/app/img:1")
c=$(measure yes -d "$REG/app/img:1" --cache --cache-repo "$REG/app/cache")
[ "$(cat "$work/hits")" = 5 ] || { echo "cache_bench: the cached build did not hit every step" >&2; exit 1; }
printf '%-52s %9.2fs %9.2fs %8.1fx\n' "repo: push, fresh state dir, --cache-repo" "$u" "$c" "$(echo "$u / $c" | bc -l)"
