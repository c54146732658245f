#!/usr/bin/env bash
# `slipway manifest create/append/inspect` against a real docker-registry, checked
# with skopeo: an index of two single-platform images, platform selection by
# skopeo, cross-repository mounts, annotations, Docker manifest lists.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_fixture/registry.sh"

start_registry
skopeo_flags=(--insecure-policy)
for arch in amd64 arm64; do
  make_oci_image "$TEST_TMP/img-$arch" "$arch"
  skopeo "${skopeo_flags[@]}" copy -q --dest-tls-verify=false "oci:$TEST_TMP/img-$arch:latest" \
    "docker://$REGISTRY/app:$arch" || fail "skopeo could not push the $arch image"
done
# One image in another repository: it must be mounted into app/ for the index.
make_oci_image "$TEST_TMP/img-arm" arm v7
skopeo "${skopeo_flags[@]}" copy -q --dest-tls-verify=false "oci:$TEST_TMP/img-arm:latest" "docker://$REGISTRY/other:armv7"

out=$("$SLIPWAY" manifest create --insecure-registry "$REGISTRY" --target "$REGISTRY/app:multi" \
  --annotation org.opencontainers.image.source=https://example.test/app \
  "$REGISTRY/app:amd64" "$REGISTRY/app:arm64" "$REGISTRY/other:armv7" 2>"$TEST_TMP/create.err") ||
  fail "manifest create failed: $(cat "$TEST_TMP/create.err")"
expect_match "$out" "^$REGISTRY/app:multi@sha256:[0-9a-f]{64}$"
digest=${out##*@}

raw=$(skopeo "${skopeo_flags[@]}" inspect --tls-verify=false --raw "docker://$REGISTRY/app:multi")
[ "sha256:$(printf '%s' "$raw" | sha256sum | cut -d' ' -f1)" = "$digest" ] || fail "printed digest does not match the index"
expect_contains "$raw" '"mediaType":"application/vnd.oci.image.index.v1+json"'
expect_contains "$raw" '"annotations":{"org.opencontainers.image.source":"https://example.test/app"}'
plats=$(printf '%s' "$raw" | grep -o '"platform":{[^}]*}' | tr '\n' ' ')
[ "$plats" = '"platform":{"architecture":"amd64","os":"linux"} "platform":{"architecture":"arm64","os":"linux"} "platform":{"architecture":"arm","os":"linux","variant":"v7"} ' ] ||
  fail "index platforms are wrong: $plats"

# skopeo picks each platform out of our index.
for arch in arm64 amd64; do
  rm -rf "$TEST_TMP/out"
  skopeo "${skopeo_flags[@]}" copy -q --src-tls-verify=false --override-arch "$arch" \
    "docker://$REGISTRY/app:multi" "oci:$TEST_TMP/out:x" || fail "skopeo copy --override-arch $arch failed"
  got=$(skopeo "${skopeo_flags[@]}" inspect --config "oci:$TEST_TMP/out:x" | tr -d ' \n')
  expect_contains "$got" "\"architecture\":\"$arch\""
done
skopeo "${skopeo_flags[@]}" copy -q --src-tls-verify=false --override-arch arm --override-variant v7 \
  "docker://$REGISTRY/app:multi" "oci:$TEST_TMP/out-arm:x" || fail "the mounted arm/v7 image is not pullable from app"

# inspect: --raw is byte-exact; the summary lists platforms.
[ "$("$SLIPWAY" manifest inspect --raw --insecure-registry "$REGISTRY" "$REGISTRY/app:multi")" = "$raw" ] ||
  fail "inspect --raw differs from what skopeo reads"
summary=$("$SLIPWAY" manifest inspect --insecure-registry "$REGISTRY" "$REGISTRY/app@$digest")
expect_contains "$summary" "Digest:     $digest"
expect_contains "$summary" "linux/arm/v7"
summary=$("$SLIPWAY" manifest inspect --insecure-registry "$REGISTRY" "$REGISTRY/app:amd64")
expect_contains "$summary" "Layers:"

# Platform override and the Docker format.
"$SLIPWAY" manifest create --insecure-registry "$REGISTRY" --format docker --target "$REGISTRY/app:list" \
  "$REGISTRY/app:amd64=linux/386" >/dev/null 2>&1 || fail "docker-format create failed"
raw=$(skopeo "${skopeo_flags[@]}" inspect --tls-verify=false --raw "docker://$REGISTRY/app:list")
expect_contains "$raw" "application/vnd.docker.distribution.manifest.list.v2+json"
expect_contains "$raw" '"architecture":"386"'

# Errors: missing tag (exit 1, says what and where), bad usage (exit 2).
err=$("$SLIPWAY" manifest inspect --insecure-registry "$REGISTRY" "$REGISTRY/app:nope" 2>&1 >/dev/null) && fail "missing tag accepted"
expect_contains "$err" "$REGISTRY/app"
expect_contains "$err" "MANIFEST_UNKNOWN"
expect_exit 1 "$SLIPWAY" manifest inspect --insecure-registry "$REGISTRY" "$REGISTRY/app:nope"
# append: a new amd64 image replaces the old entry, arm64 stays; an index
# given as SRC contributes its entries; a missing index is an error.
"$SLIPWAY" manifest create --insecure-registry "$REGISTRY" --target "$REGISTRY/app:two" \
  "$REGISTRY/app:amd64" "$REGISTRY/app:arm64" >/dev/null 2>&1 || fail "create app:two"
# A different image for amd64: the arm64 one, with its platform overridden.
new_amd64=$(skopeo "${skopeo_flags[@]}" inspect --tls-verify=false --raw "docker://$REGISTRY/app:arm64" | sha256sum | cut -d' ' -f1)
old_amd64=$(skopeo "${skopeo_flags[@]}" inspect --tls-verify=false --raw "docker://$REGISTRY/app:amd64" | sha256sum | cut -d' ' -f1)
[ "$new_amd64" != "$old_amd64" ] || fail "test setup: the two images must differ"
"$SLIPWAY" manifest append --insecure-registry "$REGISTRY" --target "$REGISTRY/app:two" "$REGISTRY/app:arm64=linux/amd64" \
  >/dev/null 2>"$TEST_TMP/append.err" || fail "manifest append: $(cat "$TEST_TMP/append.err")"
two=$(skopeo "${skopeo_flags[@]}" inspect --tls-verify=false --raw "docker://$REGISTRY/app:two")
[ "$(json_get "$two" 'len(j["manifests"])')" = "2" ] || fail "append must replace the amd64 entry: $two"
[ "$(json_get "$two" '[m["digest"] for m in j["manifests"] if m["platform"]["architecture"] == "amd64"][0]')" = "sha256:$new_amd64" ] \
  || fail "the amd64 entry was not replaced"
"$SLIPWAY" manifest create --insecure-registry "$REGISTRY" --target "$REGISTRY/app:from-index" "$REGISTRY/app:two" \
  >/dev/null 2>&1 || fail "an index as SRC"
[ "$(json_get "$(skopeo "${skopeo_flags[@]}" inspect --tls-verify=false --raw "docker://$REGISTRY/app:from-index")" 'len(j["manifests"])')" = "2" ] \
  || fail "an index SRC must contribute its entries"
expect_exit 1 "$SLIPWAY" manifest append --insecure-registry "$REGISTRY" --target "$REGISTRY/app:none" "$REGISTRY/app:amd64"

expect_exit 2 "$SLIPWAY" manifest create "$REGISTRY/app:amd64"
expect_exit 2 "$SLIPWAY" manifest create --target "$REGISTRY/x:y" --format docker --annotation a=b "$REGISTRY/app:amd64"
pass
