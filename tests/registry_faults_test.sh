#!/usr/bin/env bash
# Pushes and pulls through tests/fault_proxy.py, a proxy in front of a real
# docker-registry that drops connections, answers 500/429/503, stalls and
# truncates bodies, under slipway build (push, and FROM a registry base),
# unpack and copy (to and from a layout, and registry to registry). Transient
# faults must end in the right image (checked by digest, read back with
# skopeo straight from the registry); persistent ones in a non-zero exit
# naming the registry and repository, with no success line and nothing left
# at the destination. --push-retry / --image-download-retry bound the
# attempts (counted in the proxy's log).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_fixture/registry.sh"

start_registry
RULES=$TEST_TMP/rules
PLOG=$TEST_TMP/proxy.log
python3 "$SLIPWAY_SOURCE_DIR/tests/fault_proxy.py" --upstream "$REGISTRY" --port-file "$TEST_TMP/proxy.port" \
  --log "$PLOG" --rules "$RULES" 2>"$TEST_TMP/proxy.err" &
proxy_pid=$!
at_exit "kill $proxy_pid; wait $proxy_pid 2>/dev/null"
for _ in $(seq 1 100); do [ -s "$TEST_TMP/proxy.port" ] && break; sleep 0.05; done
[ -s "$TEST_TMP/proxy.port" ] || fail "fault proxy did not start: $(cat "$TEST_TMP/proxy.err")"
PROXY=127.0.0.1:$(cat "$TEST_TMP/proxy.port")

# Replaces the proxy's rules (one argument a rule) and empties its log.
faults() {
  printf '%s\n' "$@" >"$RULES.new"
  mv "$RULES.new" "$RULES"  # a new inode: the proxy re-reads it for sure
  : >"$PLOG"
}
# Requests in the proxy log matching METHOD and PATH (extended regexes).
requests() { awk -v m="^($1)\$" -v p="$2" '$1 ~ m && $2 ~ p' "$PLOG" | wc -l; }
BLOB='/blobs/sha256:'
UPLOAD='/blobs/uploads/'
skopeo_reg() { skopeo --insecure-policy "$@"; }
# The sha256 of the manifest REF has in the registry, read directly.
remote_digest() { echo "sha256:$(skopeo_reg inspect --raw --tls-verify=false "docker://$REGISTRY/$1" | sha256sum | cut -d' ' -f1)"; }
# skopeo copies REF out of the registry (it verifies every blob's digest).
remote_intact() {
  rm -rf "$TEST_TMP/check"
  skopeo_reg copy -q --src-tls-verify=false "docker://$REGISTRY/$1" "oci:$TEST_TMP/check:x" >/dev/null 2>&1
}
# A failure must say where, and never claim success.
expect_clear_failure() {  # LOG WHAT SUCCESS_WORD
  expect_contains "$(cat "$1")" "$2"
  grep -q "$3" "$1" && fail "a failed run printed '$3': $(cat "$1")"
  return 0
}

# --- images ------------------------------------------------------------------
BASE=$(base_image)
skopeo_reg copy -q --dest-tls-verify=false "oci:$BASE:latest" "docker://$REGISTRY/base/busybox:1" || fail "seed registry"
base_layers=$(skopeo_reg inspect "oci:$BASE:latest" | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["Layers"]))')
big_layer=${base_layers%% *}
"$SLIPWAY" unpack "oci:$BASE:latest" "$TEST_TMP/reference" 2>/dev/null || fail "reference unpack"
listing() { (cd "$1" && find . -printf '%p %y %m %s %l\n' | sort && find . -type f -exec sha256sum {} + | sort); }
listing "$TEST_TMP/reference" >"$TEST_TMP/reference.list"

# The pushed image: the base from a layout plus 17 MiB that does not
# compress, so with --push-chunk-size 16M its upload takes two PATCHes.
# Pushes are one PUT per blob by default; PUSH_FLAGS picks chunks for the
# cases that fault PATCHes. The config is pushed first and alone, so a
# persistent fault stops the push before the parallel layer uploads start
# and the proxy's request counts stay exact.
PUSH_FLAGS=()
ctx=$TEST_TMP/ctx
mkdir -p "$ctx"
head -c $((17 << 20)) /dev/urandom >"$ctx/noise.bin"
printf 'FROM base\nCOPY noise.bin /noise.bin\n' >"$ctx/Dockerfile"
build_push() {  # REPO [FLAGS...] -> prints the digest; log in $TEST_TMP/push.log
  local repo=$1; shift
  "$SLIPWAY" build --context "$ctx" --build-context "base=oci-layout://$BASE:latest" --reproducible \
    --state-dir "$TEST_TMP/push-state" --insecure-registry "$PROXY" -d "$PROXY/$repo:1" "${PUSH_FLAGS[@]}" "$@" \
    2>"$TEST_TMP/push.log"
}
reference_digest=$(build_push app/reference) || fail "push without faults: $(cat "$TEST_TMP/push.log")"
[ "$(remote_digest app/reference:1)" = "$reference_digest" ] || fail "the fault-free push differs"

# --- pushes under transient faults ---------------------------------------------
n=0
PUSH_FLAGS=(--push-chunk-size 16M)
push_survives() {  # DESCRIPTION RULE... : the push succeeds and reads back intact
  local what=$1; shift
  n=$((n + 1))
  faults "$@"
  local got
  got=$(build_push "app/t$n") || fail "push with $what failed: $(tail -5 "$TEST_TMP/push.log")
proxy log: $(cat "$PLOG")"
  [ "$got" = "$reference_digest" ] || fail "push with $what printed $got, not $reference_digest"
  [ "$(remote_digest "app/t$n:1")" = "$reference_digest" ] || fail "push with $what: the registry holds another manifest"
  remote_intact "app/t$n:1" || fail "push with $what left a broken image in the registry"
  cp "$PLOG" "$TEST_TMP/push-t$n.log"
}
push_survives "one 500 on opening the upload" "POST $UPLOAD 1 status=500"
[ "$(requests POST "$UPLOAD")" -ge 2 ] || fail "the POST was not retried"
push_survives "one 429 + Retry-After on a PATCH" "PATCH $UPLOAD 1 status=429 retry-after=1"
push_survives "one 503 on the manifest PUT" "PUT /manifests/ 1 status=503"
push_survives "the first PATCH cut half-way" "PATCH $UPLOAD 1 drop-upload=50%"
push_survives "the second PATCH cut a quarter in" "PATCH $UPLOAD 2 drop-upload=25%"
push_survives "the closing PUT cut after the registry got it" "PUT $UPLOAD 1 drop-upload=0"
push_survives "the blob HEAD reset" "HEAD $BLOB 1 reset"
push_survives "a PATCH answer stalled 3 s" "PATCH $UPLOAD 1 stall=3"

# --- pushes under persistent faults --------------------------------------------
push_fails() {  # DESCRIPTION RETRIES RULE...
  local what=$1 retries=$2; shift 2
  n=$((n + 1))
  faults "$@"
  build_push "app/t$n" --push-retry "$retries" >/dev/null && fail "push with $what succeeded"
  expect_clear_failure "$TEST_TMP/push.log" "$PROXY/app/t$n" "^pushed"
  cp "$PLOG" "$TEST_TMP/push-t$n.log"
}
push_fails "every PATCH failing with 500" 2 "PATCH $UPLOAD * status=500"
[ "$(requests PATCH "$UPLOAD")" -eq 3 ] || fail "--push-retry 2 must mean 3 PATCHes, saw $(requests PATCH "$UPLOAD")"
push_fails "every manifest PUT failing with 500" 1 "PUT /manifests/ * status=500"
expect_contains "$(cat "$TEST_TMP/push.log")" "HTTP 500"
[ "$(requests PUT /manifests/)" -eq 2 ] || fail "--push-retry 1 must mean 2 manifest PUTs, saw $(requests PUT /manifests/)"
push_fails "every PATCH cut" 2 "PATCH $UPLOAD * drop-upload=50%"
[ "$(requests PATCH "$UPLOAD")" -le 3 ] || fail "--push-retry 2 allowed $(requests PATCH "$UPLOAD") PATCHes"
# An empty closing PUT whose reused connection dies before any answer looks
# like a stale keep-alive connection: curl sends it once more on a fresh one.
# Our own attempts are 3, so at most 6 requests.
push_fails "every closing PUT reset" 2 "PUT $UPLOAD * reset"
[ "$(requests PUT "$UPLOAD")" -le 6 ] || fail "--push-retry 2 allowed $(requests PUT "$UPLOAD") closing PUTs: $(cat "$PLOG")"
[ "$(requests POST "$UPLOAD")" -eq 3 ] || fail "--push-retry 2 must mean 3 upload sessions, saw $(requests POST "$UPLOAD")"

# --- monolithic pushes (the default) -------------------------------------------
PUSH_FLAGS=()
push_survives "the monolithic PUT cut half-way" "PUT $UPLOAD 1 drop-upload=50%"
[ "$(requests PATCH "$UPLOAD")" -eq 0 ] || fail "the default push sent PATCHes: $(cat "$PLOG")"
push_survives "a 413 on the monolithic PUT (a proxy's body limit)" "PUT $UPLOAD 1 status=413"
[ "$(requests PATCH "$UPLOAD")" -ge 1 ] || fail "a 413 did not fall back to chunks: $(cat "$PLOG")"
push_fails "every monolithic PUT failing with 500" 1 "PUT $UPLOAD * status=500"
[ "$(requests PUT "$UPLOAD")" -eq 2 ] || fail "--push-retry 1 must mean 2 PUTs, saw $(requests PUT "$UPLOAD")"
build_push app/badchunk --push-chunk-size 16X >/dev/null && fail "--push-chunk-size 16X accepted"
expect_contains "$(cat "$TEST_TMP/push.log")" "--push-chunk-size takes a size"

# --- pulls: slipway unpack -----------------------------------------------------
unpack() {  # [FLAGS...]; log in $TEST_TMP/unpack.log
  rm -rf "$TEST_TMP/unpacked"
  "$SLIPWAY" unpack --insecure-registry "$PROXY" "$@" "docker://$PROXY/base/busybox:1" "$TEST_TMP/unpacked" \
    2>"$TEST_TMP/unpack.log"
}
unpack_survives() {  # DESCRIPTION RULE...
  local what=$1; shift
  faults "$@"
  unpack || fail "unpack with $what failed: $(tail -5 "$TEST_TMP/unpack.log")
proxy log: $(cat "$PLOG")"
  listing "$TEST_TMP/unpacked" | diff -q - "$TEST_TMP/reference.list" >/dev/null || fail "unpack with $what: wrong tree"
}
unpack_fails() {  # DESCRIPTION RETRIES RULE...
  local what=$1 retries=$2; shift 2
  faults "$@"
  unpack --image-download-retry "$retries" && fail "unpack with $what succeeded"
  expect_clear_failure "$TEST_TMP/unpack.log" "$PROXY/base/busybox" "^unpacked"
}
unpack_survives "one 500 on the manifest" "GET /manifests/ 1 status=500"
unpack_survives "the manifest truncated" "GET /manifests/ 1 truncate=50%"
unpack_survives "one 429 + Retry-After on the blob" "GET $BLOB 1 status=429 retry-after=1"
unpack_survives "the blob dropped half-way" "GET $BLOB 1 drop=50%"
[ "$(awk '$1 == "GET" && $2 ~ /blobs/ && $5 ~ /^bytes=[1-9]/' "$PLOG" | wc -l)" -ge 1 ] || fail "no Range resume after a drop"
unpack_survives "the blob truncated" "GET $BLOB 1 truncate=30%"
unpack_survives "the blob truncated before any byte" "GET $BLOB 1 truncate=0"
unpack_survives "two cuts in a row" "GET $BLOB 1-2 drop=40%"
unpack_survives "a blob answer short of what the manifest says" "GET $BLOB 1 short=50%"
unpack_survives "a blob stalled 3 s" "GET $BLOB 1 stall=3"
unpack_survives "a blob stalled half-way for 3 s" "GET $BLOB 1 stall-mid=3"

unpack_fails "every blob GET failing with 500" 2 "GET $BLOB * status=500"
expect_contains "$(cat "$TEST_TMP/unpack.log")" "HTTP 500"
[ "$(requests GET "$BLOB")" -eq 3 ] || fail "--image-download-retry 2 must mean 3 GETs, saw $(requests GET "$BLOB")"
unpack_fails "every blob GET truncated" 2 "GET $BLOB * truncate=50%"
[ "$(requests GET "$BLOB")" -le 3 ] || fail "--image-download-retry 2 allowed $(requests GET "$BLOB") GETs"
unpack_fails "every blob GET cut before the body" 2 "GET $BLOB * truncate=0"
[ "$(requests GET "$BLOB")" -le 3 ] || fail "--image-download-retry 2 allowed $(requests GET "$BLOB") GETs"
unpack_fails "a blob short of its Content-Length" 2 "GET $BLOB * short=50%"
# A manifest answer that is short but "complete" cannot pass for the real
# one: its digest is checked against the registry's Docker-Content-Digest.
unpack_fails "the manifest short of its Content-Length" 2 "GET /manifests/ * short=60%"
expect_contains "$(cat "$TEST_TMP/unpack.log")" "digest"
unpack_fails "the manifest always 503" 1 "GET /manifests/ * status=503"
[ "$(requests GET /manifests/)" -eq 2 ] || fail "--image-download-retry 1 must mean 2 manifest GETs"

# --- pulls: a build FROM the registry, through the proxy -----------------------
printf 'FROM %s/base/busybox:1\nCOPY noise.bin /noise.bin\n' "$PROXY" >"$ctx/Dockerfile.remote"
build_from() {  # STATE [FLAGS...]; log in $TEST_TMP/from.log
  local state=$1; shift
  rm -rf "$TEST_TMP/from-out"
  "$SLIPWAY" build --context "$ctx" -f "$ctx/Dockerfile.remote" --no-push --oci-layout-path "$TEST_TMP/from-out" \
    --state-dir "$TEST_TMP/$state" --insecure-registry "$PROXY" "$@" 2>"$TEST_TMP/from.log"
}
faults "GET /manifests/ 1 status=503" "GET $BLOB 1 drop=50%" "GET $BLOB 2 truncate=10"
build_from from1 >/dev/null || fail "build FROM through faults: $(tail -5 "$TEST_TMP/from.log")"
got=$(skopeo_reg inspect "oci:$TEST_TMP/from-out:latest" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Layers"][0])')
[ "$got" = "$big_layer" ] || fail "the base layer pulled through faults is $got, not $big_layer"
[ "$(requests GET "$BLOB")" -ge 3 ] || fail "the faults were not hit: $(cat "$PLOG")"

faults "GET $BLOB * status=500"
build_from from2 --image-download-retry 1 >/dev/null && fail "build FROM an always-failing registry succeeded"
expect_clear_failure "$TEST_TMP/from.log" "$PROXY/base/busybox" "^wrote OCI layout"
[ ! -e "$TEST_TMP/from-out/index.json" ] || fail "a failed build wrote a layout"
[ "$(requests GET "$BLOB")" -eq 2 ] || fail "--image-download-retry 1 must mean 2 GETs, saw $(requests GET "$BLOB")"

# --- slipway copy through the proxy: pull into a layout, push out of one -------
base_digest=$(remote_digest base/busybox:1)
scopy() {  # [FLAGS...] SRC DST; log in $TEST_TMP/copy.log
  "$SLIPWAY" copy --insecure-registry "$PROXY" --state-dir "$TEST_TMP/copy-state" "$@" 2>"$TEST_TMP/copy.log"
}
faults "GET /manifests/ 1 status=500" "GET $BLOB 1 drop=50%" "GET $BLOB 2 status=429 retry-after=1"
rm -rf "$TEST_TMP/copied"
got=$(scopy "docker://$PROXY/base/busybox:1" "oci:$TEST_TMP/copied:x") ||
  fail "copy out of the registry through faults: $(tail -5 "$TEST_TMP/copy.log")
proxy log: $(cat "$PLOG")"
[ "$got" = "$base_digest" ] || fail "copy printed $got, not $base_digest"
[ "$(requests GET "$BLOB")" -ge 3 ] || fail "the copy faults were not hit: $(cat "$PLOG")"
skopeo_reg copy -q "oci:$TEST_TMP/copied:x" "oci:$TEST_TMP/copied-check:x" || fail "the copied layout is broken"

# copy uploads in one PUT per blob: cut one half-way.
faults "POST $UPLOAD 1 status=429 retry-after=1" "PUT $UPLOAD 1 drop-upload=50%" "PUT /manifests/ 1 status=500"
got=$(scopy "oci:$TEST_TMP/copied:x" "docker://$PROXY/copied/c1:1") && grep -q "drop-upload" "$PLOG" ||
  fail "copy into the registry through faults: $(tail -5 "$TEST_TMP/copy.log")
proxy log: $(cat "$PLOG")"
[ "$got" = "$base_digest" ] && [ "$(remote_digest copied/c1:1)" = "$base_digest" ] || fail "copy pushed another manifest"
remote_intact copied/c1:1 || fail "copy through faults left a broken image"

faults "PUT $UPLOAD * status=500"
scopy --parallel 1 --push-retry 1 "oci:$TEST_TMP/copied:x" "docker://$PROXY/copied/c2:1" >/dev/null && fail "copy into a failing registry succeeded: $(cat "$PLOG")"
expect_clear_failure "$TEST_TMP/copy.log" "$PROXY/copied/c2" "^copied"
[ "$(requests PUT "$UPLOAD")" -eq 2 ] || fail "copy --push-retry 1 must mean 2 PUTs, saw $(requests PUT "$UPLOAD")"
faults "GET $BLOB * truncate=50%"
rm -rf "$TEST_TMP/copied2"
scopy --parallel 1 --image-download-retry 1 "docker://$PROXY/base/busybox:1" "oci:$TEST_TMP/copied2:x" >/dev/null &&
  fail "copy out of a truncating registry succeeded"
expect_clear_failure "$TEST_TMP/copy.log" "$PROXY/base/busybox" "^copied"
[ "$(requests GET "$BLOB")" -le 2 ] || fail "copy --image-download-retry 1 allowed $(requests GET "$BLOB") GETs"

# Registry to registry, the upload reading behind the download: a download
# cut mid-way resumes under the upload; one that fails leaves nothing at the
# destination.
A=$REGISTRY
REGISTRY_DIR="$TEST_TMP/reg-b" start_registry
B=$REGISTRY
faults "GET $BLOB 1 drop=50%" "GET $BLOB 2 stall-mid=2"
got=$(scopy --insecure-registry "$B" "docker://$PROXY/base/busybox:1" "docker://$B/relayed:1") ||
  fail "copy to another registry through faults: $(tail -5 "$TEST_TMP/copy.log")
proxy log: $(cat "$PLOG")"
[ "$got" = "$base_digest" ] || fail "relay printed $got, not $base_digest"
rm -rf "$TEST_TMP/check"
skopeo_reg copy -q --src-tls-verify=false "docker://$B/relayed:1" "oci:$TEST_TMP/check:x" || fail "the relayed image is broken"
faults "GET $BLOB * truncate=50%"
scopy --insecure-registry "$B" --image-download-retry 1 "docker://$PROXY/base/busybox:1" "docker://$B/relayed2:1" \
  >/dev/null && fail "a relay from a truncating registry succeeded"
expect_clear_failure "$TEST_TMP/copy.log" "$PROXY/base/busybox" "^copied"
skopeo_reg inspect --raw --tls-verify=false "docker://$B/relayed2:1" >/dev/null 2>&1 && fail "a failed relay left a manifest"
code=$(python3 -c 'import sys, urllib.request, urllib.error
try: print(urllib.request.urlopen(urllib.request.Request(sys.argv[1], method="HEAD")).status)
except urllib.error.HTTPError as e: print(e.code)' "http://$B/v2/relayed2/blobs/$big_layer")
[ "$code" = 404 ] || fail "a failed relay left the blob at the destination (HTTP $code)"
pass
