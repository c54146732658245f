#!/usr/bin/env bash
# slipway build against `buildah bud` (Debian's buildah, chroot isolation,
# overlay storage, --layers) on the same machine in the same run, as root.
#
# Workloads: (a) 10 RUN steps that each touch one file; (b) one RUN writing
# 200 MB in 2,000 files; (c) COPY of a 100 MB, 1,000-file context. Bases:
# busybox (tests/make_base_image.sh) and a Debian minbase made with
# debootstrap (about 10k files, cached in $BENCH_DIR). (a) on both bases
# shows that a RUN's snapshot does not grow with the base's file count.
#
#   bench/build_bench.sh [REPEAT]      # needs: buildah debootstrap (apt-get)
set -euo pipefail
cd "$(dirname "$0")/.."
SLIPWAY=${SLIPWAY:-$PWD/build/builder/slipway}
REPEAT=${1:-3}
work=${BENCH_DIR:-/var/tmp/slipway-bench}
mkdir -p "$work"
[ "$(id -u)" -eq 0 ] || { echo "build_bench: run as root (buildah's overlay storage)"; exit 1; }
command -v buildah >/dev/null && command -v debootstrap >/dev/null || { echo "build_bench: apt-get install buildah debootstrap"; exit 1; }

if [ ! -f "$work/debian/index.json" ]; then
  rm -rf "$work/debian-root"
  debootstrap --variant=minbase bookworm "$work/debian-root" >/dev/null
  ROOTFS=$work/debian-root tests/make_base_image.sh "$work/debian" latest >/dev/null
fi
[ -f "$work/busybox/index.json" ] || tests/make_base_image.sh "$work/busybox" latest >/dev/null
export STORAGE_DRIVER=overlay
for b in busybox debian; do
  buildah tag "$(buildah pull --quiet "oci:$work/$b:latest")" "localhost/bench-$b:latest"
done

ctx=$work/ctx
rm -rf "$ctx" && mkdir -p "$ctx/data"
for i in $(seq 1 1000); do head -c 100000 /dev/urandom > "$ctx/data/f$i"; done
{
  echo 'ARG BASE'
  echo 'FROM $BASE'
  echo 'ARG NONCE'
  echo 'RUN echo $NONCE > /nonce'
  for i in $(seq 1 10); do echo "RUN echo $i > /file$i"; done
} > "$ctx/a.Dockerfile"
printf 'ARG BASE\nFROM $BASE\nARG NONCE\nRUN echo $NONCE > /nonce && mkdir /big && i=0; while [ $i -lt 2000 ]; do head -c 100000 /dev/urandom > /big/f$i; i=$((i+1)); done\n' > "$ctx/b.Dockerfile"
printf 'ARG BASE\nFROM $BASE\nARG NONCE\nRUN echo $NONCE > /nonce\nCOPY data/ /data/\n' > "$ctx/c.Dockerfile"
printf 'data/*.tmp\n' > "$ctx/.dockerignore"

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run_slipway() {  # WORKLOAD BASE
  "$SLIPWAY" build --context "$ctx" -f "$ctx/${1%z}.Dockerfile" --build-arg BASE=base --build-arg NONCE="$RANDOM$RANDOM" \
    --build-context base=oci-layout://"$work/$2":latest --state-dir "$work/state" --no-push \
    $([ "${1: -1}" = z ] && echo --compression zstd) >/dev/null 2>"$work/slipway.err" \
    || { echo "slipway build failed: $(cat "$work/slipway.err")" >&2; exit 1; }
}
run_buildah() {  # WORKLOAD BASE
  buildah bud --quiet --isolation=chroot --layers --build-arg BASE="localhost/bench-$2:latest" \
    --build-arg NONCE="$RANDOM$RANDOM" -f "$ctx/${1%z}.Dockerfile" -t bench-out "$ctx" >/dev/null 2>"$work/buildah.err" \
    || { echo "buildah bud failed: $(cat "$work/buildah.err")" >&2; exit 1; }
}
measure() {  # FN WORKLOAD BASE
  local i t0 t1
  for i in $(seq 1 "$REPEAT"); do
    t0=$(now); "$1" "$2" "$3"; t1=$(now)
    echo "$t1 - $t0" | bc
  done | median
}

echo "slipway $("$SLIPWAY" version | head -1 | cut -d' ' -f2), $(buildah --version); $(nproc) cores; median of $REPEAT"
printf '%-46s %10s %10s %12s\n' workload slipway buildah buildah/slipway
for spec in "a busybox" "a debian" "b debian" "bz debian" "c debian"; do
  set -- $spec
  run_slipway "$1" "$2"; run_buildah "$1" "$2"   # warm: base unpacked/pulled, page cache
  s=$(measure run_slipway "$1" "$2")
  b=$(measure run_buildah "$1" "$2")
  case $1 in
    a) what="(a) 10 RUN, one file each" ;;
    b) what="(b) RUN writing 200 MB / 2000 files" ;;
    bz) what="(b) same, slipway --compression zstd" ;;
    c) what="(c) COPY 100 MB / 1000 files" ;;
  esac
  printf '%-46s %9.2fs %9.2fs %11.2fx\n' "$what on $2" "$s" "$b" "$(echo "$b / $s" | bc -l)"
done
