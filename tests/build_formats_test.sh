#!/usr/bin/env bash
# --image-format and --compression: the manifest, config and every layer
# (the base image's too) carry media types of one format, and real clients
# read the result: skopeo copies it, umoci unpacks the OCI one. (skopeo's
# oci: transport lists only OCI manifests, so the Docker one goes to a registry.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_fixture/registry.sh"
start_registry
BASE=$(base_image)
ctx=$TEST_TMP/ctx
mkdir -p "$ctx"
echo hi > "$ctx/hi.txt"
printf 'FROM busybox\nCOPY hi.txt /\nRUN echo built > /built\n' > "$ctx/Dockerfile"
build() {  # OUT FLAGS...
  local out=$1
  shift
  "$SLIPWAY" build --context "$ctx" --build-context busybox=oci-layout://"$BASE":latest --state-dir "$TEST_TMP/state" \
    --oci-layout-path "$out" "$@" 2>"$out.log" >/dev/null || fail "build $* failed: $(cat "$out.log")"
}
types() {  # IMAGE: manifest type, config type, then each layer type
  skopeo inspect --raw --tls-verify=false "$1" | python3 -c '
import json, sys
m = json.load(sys.stdin)
print(m["mediaType"]); print(m["config"]["mediaType"])
for l in m["layers"]: print(l["mediaType"])'
}

build "$TEST_TMP/docker" --image-format docker --insecure-registry "$REGISTRY" -d "$REGISTRY/app/docker:1"
t=$(types "docker://$REGISTRY/app/docker:1")
[ "$(echo "$t" | sed -n 1p)" = application/vnd.docker.distribution.manifest.v2+json ] || fail "docker manifest type: $t"
[ "$(echo "$t" | sed -n 2p)" = application/vnd.docker.container.image.v1+json ] || fail "docker config type: $t"
[ "$(echo "$t" | sed -n '3,$p' | sort -u)" = application/vnd.docker.image.rootfs.diff.tar.gzip ] \
  || fail "a layer (the base's?) kept a non-Docker type: $t"
skopeo copy -q --src-tls-verify=false "docker://$REGISTRY/app/docker:1" "docker-archive:$TEST_TMP/docker.tar:x/y:z" \
  >/dev/null 2>&1 || fail "skopeo cannot copy the docker-format image"

build "$TEST_TMP/oci"
t=$(types "oci:$TEST_TMP/oci:latest")
[ "$(echo "$t" | sed -n '3,$p' | sort -u)" = application/vnd.oci.image.layer.v1.tar+gzip ] || fail "oci layer types: $t"
unpack_image "$TEST_TMP/oci" latest "$TEST_TMP/u"
[ "$(cat "$TEST_TMP/u/rootfs/built")" = built ] || fail "umoci unpack of the OCI image"

build "$TEST_TMP/zstd" --compression zstd
t=$(types "oci:$TEST_TMP/zstd:latest")
# The base's gzip layer is reused as it is; the two new layers are zstd.
[ "$(echo "$t" | grep -c 'tar+zstd')" = 2 ] || fail "zstd layer types: $t"
skopeo copy -q "oci:$TEST_TMP/zstd:latest" "oci:$TEST_TMP/zstd-copy:latest" >/dev/null 2>&1 || fail "skopeo cannot copy the zstd image"
pass
