#!/usr/bin/env bash
# `slipway copy` between OCI layouts, two real docker-registries and
# docker-archives, each copy checked with skopeo: manifest digests preserved,
# blobs pullable and verified, same-registry copies mounted (the registry's
# access log shows the mount and no upload), --all of an index, platform
# selection, errors. Also `manifest create` with a SRC in another registry.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_fixture/registry.sh"

REGISTRY_LOG_ACCESSLOG_DISABLED=false REGISTRY_DIR="$TEST_TMP/reg-a" start_registry
A=$REGISTRY
REGISTRY_DIR="$TEST_TMP/reg-b" start_registry
B=$REGISTRY
sk=(skopeo --insecure-policy)
cp_flags=(--insecure-registry "$A" --insecure-registry "$B" --state-dir "$TEST_TMP/state")
sha_of() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
raw_digest() { echo "sha256:$(sha_of "$("${sk[@]}" inspect --tls-verify=false --raw "$1")")"; }
# skopeo pulls REF (verifying every blob against its digest) and the manifest
# it read has digest WANT.
verify_pull() {  # docker://REF WANT
  local out="$TEST_TMP/verify" got
  rm -rf "$out"
  "${sk[@]}" copy -q --src-tls-verify=false "$1" "oci:$out:v" || fail "skopeo cannot pull $1"
  got=$(raw_digest "$1")
  [ "$got" = "$2" ] || fail "$1 has manifest $got, want $2"
}
scopy() { "$SLIPWAY" copy "${cp_flags[@]}" "$@"; }

for arch in amd64 arm64; do make_oci_image "$TEST_TMP/img-$arch" "$arch"; done
amd64=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$TEST_TMP/img-amd64/index.json")

# oci -> registry: the printed digest is the layout's manifest, byte for byte.
out=$(scopy oci:"$TEST_TMP/img-amd64:latest" "docker://$A/app:amd64" --digestfile "$TEST_TMP/d" 2>"$TEST_TMP/err") ||
  fail "oci -> registry: $(cat "$TEST_TMP/err")"
[ "$out" = "$amd64" ] || fail "printed $out, want $amd64"
[ "$(cat "$TEST_TMP/d")" = "$amd64" ] || fail "--digestfile holds $(cat "$TEST_TMP/d")"
expect_contains "$(cat "$TEST_TMP/err")" "2 blobs copied"
verify_pull "docker://$A/app:amd64" "$amd64"
# Again: the registry has every blob, nothing is uploaded.
scopy oci:"$TEST_TMP/img-amd64:latest" "$A/app:amd64" 2>"$TEST_TMP/err" >/dev/null || fail "second push"
expect_contains "$(cat "$TEST_TMP/err")" "0 blobs copied"
expect_contains "$(cat "$TEST_TMP/err")" "2 already there"
arm64=$(scopy oci:"$TEST_TMP/img-arm64:latest" "$A/app:arm64" 2>/dev/null) || fail "push arm64"

# registry -> same registry, other repository: mounted, never uploaded.
mark=$(wc -l <"$TEST_TMP/reg-a/log")
out=$(scopy "docker://$A/app:amd64" "docker://$A/mirror/app:v1" 2>"$TEST_TMP/err") || fail "same-registry copy: $(cat "$TEST_TMP/err")"
[ "$out" = "$amd64" ] || fail "same-registry copy printed $out"
expect_contains "$(cat "$TEST_TMP/err")" "2 mounted"
log=$(tail -n +"$((mark + 1))" "$TEST_TMP/reg-a/log")
[ "$(grep -c 'POST /v2/mirror/app/blobs/uploads/?mount=sha256%3A[0-9a-f]*&from=app HTTP/1.1" 201' <<<"$log")" = 2 ] ||
  fail "the registry log shows no two mounts: $log"
grep -E '"(PUT|PATCH) /v2/mirror/app/blobs/uploads' <<<"$log" && fail "a mounted copy uploaded blobs"
verify_pull "docker://$A/mirror/app:v1" "$amd64"

# registry -> another registry: streamed through the state dir, verified.
out=$(scopy "$A/app:amd64" "$B/copied/app:v1" 2>"$TEST_TMP/err") || fail "cross-registry copy: $(cat "$TEST_TMP/err")"
[ "$out" = "$amd64" ] || fail "cross-registry copy printed $out"
verify_pull "docker://$B/copied/app:v1" "$amd64"

# registry -> oci: same manifest bytes, blobs verified by skopeo reading them.
out=$(scopy "$A/app:arm64" "oci:$TEST_TMP/out:pulled" 2>/dev/null) || fail "registry -> oci"
[ "$out" = "$arm64" ] || fail "registry -> oci printed $out, want $arm64"
[ "sha256:$(sha_of "$("${sk[@]}" inspect --raw "oci:$TEST_TMP/out:pulled")")" = "$arm64" ] || fail "oci copy differs"
"${sk[@]}" copy -q "oci:$TEST_TMP/out:pulled" "oci:$TEST_TMP/out-check:x" || fail "skopeo cannot read the pulled layout"

# registry -> docker-archive (skopeo reads it: same config, layers as plain
# tars), and back from the archive into the other registry.
config=$("${sk[@]}" inspect --tls-verify=false --raw "docker://$A/app:arm64" | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["digest"])')
scopy "$A/app:arm64" "docker-archive:$TEST_TMP/arm64.tar" >/dev/null 2>"$TEST_TMP/err" || fail "-> docker-archive: $(cat "$TEST_TMP/err")"
got=$("${sk[@]}" inspect --raw "docker-archive:$TEST_TMP/arm64.tar" | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["digest"])')
[ "$got" = "$config" ] || fail "docker-archive config $got, want $config"
expect_contains "$(tar -tf "$TEST_TMP/arm64.tar")" "manifest.json"
expect_contains "$(tar -xOf "$TEST_TMP/arm64.tar" manifest.json)" "$A/app:arm64"
out=$(scopy "docker-archive:$TEST_TMP/arm64.tar" "$B/from-archive:v1" 2>"$TEST_TMP/err") || fail "docker-archive -> registry: $(cat "$TEST_TMP/err")"
verify_pull "docker://$B/from-archive:v1" "$out"
got=$("${sk[@]}" inspect --tls-verify=false --raw "docker://$B/from-archive:v1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["digest"])')
[ "$got" = "$config" ] || fail "archive round trip changed the config: $got"

# --all of an index made by manifest create, into the other registry and a
# layout: the same index bytes and both platforms' images.
index=$("$SLIPWAY" manifest create --insecure-registry "$A" --target "$A/app:multi" "$A/app:amd64" "$A/app:arm64" 2>/dev/null)
index=${index##*@}
out=$(scopy --all "$A/app:multi" "$B/multi:v1" 2>"$TEST_TMP/err") || fail "copy --all: $(cat "$TEST_TMP/err")"
[ "$out" = "$index" ] || fail "copy --all printed $out, want the index $index"
raw=$("${sk[@]}" inspect --tls-verify=false --raw "docker://$B/multi:v1")
[ "sha256:$(sha_of "$raw")" = "$index" ] || fail "the copied index has other bytes"
[ "$(json_get "$raw" '" ".join(m["digest"] + "=" + m["platform"]["architecture"] for m in j["manifests"])')" = "$amd64=amd64 $arm64=arm64" ] ||
  fail "copied index lists: $raw"
verify_pull "docker://$B/multi@$amd64" "$amd64"
verify_pull "docker://$B/multi@$arm64" "$arm64"
out=$(scopy --all "$A/app:multi" "oci:$TEST_TMP/multi:m" 2>/dev/null) || fail "copy --all to oci"
[ "sha256:$(sha_of "$("${sk[@]}" inspect --raw "oci:$TEST_TMP/multi:m")")" = "$index" ] || fail "oci index differs"
"${sk[@]}" copy -q --override-arch arm64 "oci:$TEST_TMP/multi:m" "oci:$TEST_TMP/multi-arm:x" || fail "skopeo cannot pick arm64 from the layout"
# Without --all an index gives one platform's image.
out=$(scopy --platform linux/arm64 "oci:$TEST_TMP/multi:m" "$B/one:v1" 2>/dev/null) || fail "copy --platform"
[ "$out" = "$arm64" ] || fail "--platform linux/arm64 gave $out, want $arm64"
verify_pull "docker://$B/one:v1" "$arm64"
out=$(scopy --platform linux/amd64 "$A/app:multi" "$B/one:v2" 2>/dev/null) || fail "copy --platform from a registry"
[ "$out" = "$amd64" ] || fail "--platform linux/amd64 gave $out, want $amd64"

# manifest create with a SRC in another registry: its blobs and manifest are
# copied into the target repository, and the index is pullable per platform.
"${sk[@]}" copy -q --dest-tls-verify=false "oci:$TEST_TMP/img-arm64:latest" "docker://$B/elsewhere:arm64" || fail "skopeo push to B"
out=$("$SLIPWAY" manifest create --insecure-registry "$A" --insecure-registry "$B" --state-dir "$TEST_TMP/state" \
  --target "$A/cross:multi" "$A/app:amd64" "$B/elsewhere:arm64" 2>"$TEST_TMP/err") ||
  fail "manifest create across registries: $(cat "$TEST_TMP/err")"
raw=$("${sk[@]}" inspect --tls-verify=false --raw "docker://$A/cross:multi")
[ "$(json_get "$raw" '" ".join(m["digest"] for m in j["manifests"])')" = "$amd64 $arm64" ] || fail "cross index lists: $raw"
verify_pull "docker://$A/cross@$arm64" "$arm64"
rm -rf "$TEST_TMP/x"
"${sk[@]}" copy -q --src-tls-verify=false --override-arch arm64 "docker://$A/cross:multi" "oci:$TEST_TMP/x:x" ||
  fail "skopeo cannot pull arm64 from the cross-registry index"
# manifest append takes a SRC from another registry the same way.
make_oci_image "$TEST_TMP/img-arm" arm v7
"${sk[@]}" copy -q --dest-tls-verify=false "oci:$TEST_TMP/img-arm:latest" "docker://$B/elsewhere:armv7" || fail "skopeo push armv7"
"$SLIPWAY" manifest append --insecure-registry "$A" --insecure-registry "$B" --state-dir "$TEST_TMP/state" \
  --target "$A/cross:multi" "$B/elsewhere:armv7" >/dev/null 2>"$TEST_TMP/err" || fail "append across registries: $(cat "$TEST_TMP/err")"
raw=$("${sk[@]}" inspect --tls-verify=false --raw "docker://$A/cross:multi")
[ "$(json_get "$raw" '" ".join(m["platform"]["architecture"] for m in j["manifests"])')" = "amd64 arm64 arm" ] || fail "appended index: $raw"
rm -rf "$TEST_TMP/x"
"${sk[@]}" copy -q --src-tls-verify=false --override-arch arm --override-variant v7 "docker://$A/cross:multi" "oci:$TEST_TMP/x:x" ||
  fail "skopeo cannot pull arm/v7 from the appended index"

# A registry with htpasswd auth on both ends of a copy: credentials come from
# $DOCKER_CONFIG/config.json for each host; without them the error says so.
export DOCKER_CONFIG="$TEST_TMP/docker"
unset REGISTRY_AUTH_FILE XDG_RUNTIME_DIR
mkdir -p "$DOCKER_CONFIG"
echo '{}' >"$DOCKER_CONFIG/config.json"
pw="s3cret-$RANDOM"
REGISTRY_DIR="$TEST_TMP/reg-c" start_registry copier "$pw"
C=$REGISTRY
err=$("$SLIPWAY" copy --insecure-registry "$A" --insecure-registry "$C" "$A/app:amd64" "$C/private:v1" 2>&1 >/dev/null) &&
  fail "a push without credentials succeeded"
expect_contains "$err" "HTTP 401"
expect_contains "$err" "$C/private"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$C" "$(printf 'copier:%s' "$pw" | base64 -w0)" >"$DOCKER_CONFIG/config.json"
out=$("$SLIPWAY" copy --insecure-registry "$A" --insecure-registry "$C" --state-dir "$TEST_TMP/state" \
  "$A/app:amd64" "$C/private:v1" 2>"$TEST_TMP/err") || fail "copy into an auth registry: $(cat "$TEST_TMP/err")"
[ "$out" = "$amd64" ] || fail "auth copy printed $out"
out=$("$SLIPWAY" copy --insecure-registry "$C" "$C/private:v1" "oci:$TEST_TMP/private:p" 2>"$TEST_TMP/err") ||
  fail "copy out of an auth registry: $(cat "$TEST_TMP/err")"
[ "sha256:$(sha_of "$("${sk[@]}" inspect --raw "oci:$TEST_TMP/private:p")")" = "$amd64" ] || fail "auth pull differs"

# A blob the source registry serves corrupted (same size) is caught while it
# streams into the other registry, which ends up without it.
make_oci_image "$TEST_TMP/img-bad" s390x
scopy "oci:$TEST_TMP/img-bad:latest" "$A/bad:1" >/dev/null 2>&1 || fail "push img-bad"
layer=$("${sk[@]}" inspect --tls-verify=false --raw "docker://$A/bad:1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"][7:])')
data="$TEST_TMP/reg-a/storage/docker/registry/v2/blobs/sha256/${layer:0:2}/$layer/data"
[ -f "$data" ] || fail "test setup: no blob file at $data"
size=$(stat -c %s "$data")
head -c "$size" /dev/zero >"$data"
err=$(scopy "$A/bad:1" "$B/bad:1" 2>&1 >/dev/null) && fail "a corrupted blob was copied"
expect_contains "$err" "sha256:$layer"
expect_contains "$err" "corrupted"
code=$(python3 -c '
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(urllib.request.Request(sys.argv[1], method="HEAD")); print(200)
except urllib.error.HTTPError as e:
    print(e.code)' "http://$B/v2/bad/blobs/sha256:$layer")
[ "$code" = 404 ] ||
  fail "the corrupted blob reached the other registry"
err=$(scopy "$A/bad:1" "oci:$TEST_TMP/bad:1" 2>&1 >/dev/null) && fail "a corrupted blob was pulled"
[ ! -e "$TEST_TMP/bad/blobs/sha256/$layer" ] || fail "the corrupted blob landed in the layout"

# Blobs that passed through the disk are gone once each copy ends.
[ -d "$TEST_TMP/state/tmp" ] || fail "no copy went through the state dir"
[ -z "$(ls -A "$TEST_TMP/state/tmp")" ] || fail "copies left scratch files: $(ls -A "$TEST_TMP/state/tmp")"

# Errors: a missing SRC names it and fails with 1; bad usage is 2.
err=$(scopy "$A/app:nope" "oci:$TEST_TMP/none:x" 2>&1 >/dev/null) && fail "a missing SRC was copied"
expect_contains "$err" "copying $A/app:nope"
expect_contains "$err" "MANIFEST_UNKNOWN"
expect_exit 1 scopy "$A/app:nope" "oci:$TEST_TMP/none:x"
err=$(scopy "oci:$TEST_TMP/img-amd64:nope" "$B/x:y" 2>&1 >/dev/null) && fail "a missing oci tag was copied"
expect_contains "$err" 'tag "nope" not found'
expect_exit 1 scopy "oci:$TEST_TMP/no-such-dir:x" "$B/x:y"
expect_exit 2 scopy "$A/app:amd64"
expect_exit 2 scopy "dir:/tmp/x" "$B/x:y"
expect_exit 2 scopy --all "$A/app:multi" "docker-archive:$TEST_TMP/all.tar"
pass
