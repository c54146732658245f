#!/usr/bin/env bash
# slipway build against a real registry (Debian's docker-registry on
# 127.0.0.1): the base pulled from it, the result pushed with --arch-suffix,
# read back with skopeo; a second push finds every blob already there.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_fixture/registry.sh"
start_registry
push_base_image "$REGISTRY/base/busybox:1"

ctx=$TEST_TMP/ctx
mkdir -p "$ctx"
echo hi > "$ctx/hi.txt"
printf 'ARG REG\nFROM $REG/base/busybox:1\nCOPY hi.txt /hi.txt\nRUN cat /hi.txt > /copy.txt\n' > "$ctx/Dockerfile"

build() {
  "$SLIPWAY" build --context "$ctx" --build-arg REG="$REGISTRY" --insecure-registry "$REGISTRY" \
    --state-dir "$TEST_TMP/state" --reproducible -v debug "$@"
}
digest=$(build -d "$REGISTRY/app/web:1.2" --arch-suffix --image-name-with-digest-file "$TEST_TMP/names" \
  2>"$TEST_TMP/log") || fail "build and push failed: $(cat "$TEST_TMP/log")"
arch=$(uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')
remote=$(skopeo inspect --tls-verify=false "docker://$REGISTRY/app/web:1.2-$arch") || fail "skopeo cannot read the pushed image"
[ "$(json_get "$remote" 'j["Digest"]')" = "$digest" ] || fail "pushed digest differs"
[ "$(json_get "$remote" 'len(j["Layers"])')" = "3" ] || fail "expected base + COPY + RUN layers"
[ "$(cat "$TEST_TMP/names")" = "$REGISTRY/app/web:1.2-$arch@$digest" ] || fail "name-with-digest file: $(cat "$TEST_TMP/names")"
skopeo copy --quiet --src-tls-verify=false "docker://$REGISTRY/app/web:1.2-$arch" "oci:$TEST_TMP/pulled:x" \
  || fail "skopeo copy of the pushed image failed"
expect_contains "$(cat "$TEST_TMP/log")" "mounted"   # the base layer came by cross-repo mount

# --manifest: the image joins an index at another tag, entry per platform.
build -d "$REGISTRY/app/web:1.2" --arch-suffix --manifest "$REGISTRY/app/web:1.2" >/dev/null 2>"$TEST_TMP/log3" \
  || fail "--manifest: $(cat "$TEST_TMP/log3")"
raw=$(skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/app/web:1.2") || fail "no index at app/web:1.2"
[ "$(json_get "$raw" 'j["mediaType"]')" = "application/vnd.oci.image.index.v1+json" ] || fail "not an OCI index: $raw"
[ "$(json_get "$raw" '[m["platform"]["architecture"] for m in j["manifests"]]')" = "['$arch']" ] || fail "index entries: $raw"
[ "$(json_get "$raw" 'j["manifests"][0]["digest"]')" = "$digest" ] || fail "index entry digest"

# --reproducible: the same input gives the same image, and pushing it again
# uploads nothing.
again=$(build -d "$REGISTRY/app/web:1.2" --arch-suffix 2>"$TEST_TMP/log2") || fail "second push: $(cat "$TEST_TMP/log2")"
[ "$again" = "$digest" ] || fail "--reproducible built $again, then $digest"
grep -q "^debug: pushed sha256" "$TEST_TMP/log2" && fail "second push uploaded a blob again"
[ "$(json_get "$remote" 'j["Created"]')" = "1970-01-01T00:00:00Z" ] || fail "--reproducible must set created to the epoch"
pass
