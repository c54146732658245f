#!/usr/bin/env bash
# Self-hosting: the freshly built slipway builds its own image (both targets of
# the repository's Dockerfile, from scripts/bundle's context), pushes them to
# a docker-registry with Basic auth, and skopeo checks entrypoint, env and
# platform. Then each image is unpacked and run from its own root via chroot:
# the bundled binary must start with only what the image holds (loader, libs),
# the debug image's /busybox/sh must work, and the debug image, used the way a
# GitLab job uses it, builds examples/hello with a RUN step and pushes it with
# the credentials in /slipway/.docker/config.json.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_fixture/registry.sh"
[ "$(id -u)" -eq 0 ] || fail "needs root (chroot into the unpacked image)"
chroot=$(command -v chroot) || fail "chroot (coreutils) is needed"

start_registry ci-user 's3cret pass'
creds=(--creds 'ci-user:s3cret pass')
mkdir -p "$TEST_TMP/docker"
auth=$(printf '%s' 'ci-user:s3cret pass' | base64 -w0)
printf '{"auths":{"%s":{"auth":"%s"}}}' "$REGISTRY" "$auth" >"$TEST_TMP/docker/config.json"

bundle=$("$SLIPWAY_SOURCE_DIR/scripts/bundle" "$SLIPWAY" "$TEST_TMP/bundle" 2>"$TEST_TMP/bundle.err") ||
  fail "scripts/bundle: $(cat "$TEST_TMP/bundle.err")"
arch=$(uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')

for target in slipway debug; do
  tag=test; [ "$target" = debug ] && tag=test-debug
  DOCKER_CONFIG=$TEST_TMP/docker "$SLIPWAY" build --context "$bundle" --target "$target" \
    -d "$REGISTRY/tools/slipway:$tag" --insecure-registry "$REGISTRY" --state-dir "$TEST_TMP/state" \
    --reproducible --label org.opencontainers.image.title=slipway >/dev/null 2>"$TEST_TMP/build-$target.err" ||
    fail "building the $target image: $(cat "$TEST_TMP/build-$target.err")"
done

inspect() { skopeo inspect --tls-verify=false "${creds[@]}" "$@"; }
for tag in test test-debug; do
  cfg=$(inspect --config "docker://$REGISTRY/tools/slipway:$tag") || fail "skopeo cannot read slipway:$tag"
  [ "$(json_get "$cfg" 'j["config"]["Entrypoint"]')" = "['/slipway/bin/slipway']" ] || fail "$tag entrypoint: $cfg"
  [ "$(json_get "$cfg" 'j["os"] + "/" + j["architecture"]')" = "linux/$arch" ] || fail "$tag platform: $cfg"
  env=$(json_get "$cfg" '"\n".join(j["config"]["Env"])')
  expect_contains "$env" "DOCKER_CONFIG=/slipway/.docker"
  expect_contains "$env" "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"
  expect_match "$env" "PATH=[^ ]*/slipway/bin"
  [ "$(json_get "$cfg" 'j["config"]["Labels"]["org.opencontainers.image.title"]')" = slipway ] || fail "$tag label"
done
expect_contains "$(json_get "$(inspect --config "docker://$REGISTRY/tools/slipway:test-debug")" 'j["config"]["Env"]')" ":/busybox"
# The debug image is the release image plus one busybox layer: its first
# layer is the release image's only one (pulled once, cached once).
rel_layers=$(json_get "$(inspect "docker://$REGISTRY/tools/slipway:test")" 'j["Layers"]')
dbg_first=$(json_get "$(inspect "docker://$REGISTRY/tools/slipway:test-debug")" '[j["Layers"][0]]')
dbg_count=$(json_get "$(inspect "docker://$REGISTRY/tools/slipway:test-debug")" 'len(j["Layers"])')
[ "$rel_layers" = "$dbg_first" ] && [ "$dbg_count" = 2 ] || fail "debug must extend the release image's layer: $rel_layers / $dbg_first"

# Pull both back and unpack them.
for tag in test test-debug; do
  skopeo copy -q --src-tls-verify=false --src-creds 'ci-user:s3cret pass' \
    "docker://$REGISTRY/tools/slipway:$tag" "oci:$TEST_TMP/pulled:$tag" || fail "skopeo copy slipway:$tag"
  unpack_image "$TEST_TMP/pulled" "$tag" "$TEST_TMP/$tag"
done
rel=$TEST_TMP/test/rootfs
dbg=$TEST_TMP/test-debug/rootfs

# The release image: no shell, nothing from the host but the bundle, and the
# binary runs with the image's own loader and libraries only.
[ -e "$rel/bin/sh" ] || [ -e "$rel/busybox" ] && fail "the release image must not contain a shell"
want=$("$SLIPWAY" version)
got=$(env -i "$chroot" "$rel" /slipway/bin/slipway version 2>&1) || fail "slipway from its own image: $got"
[ "$got" = "$want" ] || fail "version inside the image: '$got', outside: '$want'"
# A missing library must be noticed: without libcurl it cannot start.
mv "$rel/lib/$(uname -m)-linux-gnu/libcurl.so.4" "$TEST_TMP/libcurl.so.4" 2>/dev/null ||
  fail "libcurl.so.4 is not in the image at /lib/$(uname -m)-linux-gnu"
env -i "$chroot" "$rel" /slipway/bin/slipway version >/dev/null 2>&1 && fail "chroot test is not using the image's libraries"
mv "$TEST_TMP/libcurl.so.4" "$rel/lib/$(uname -m)-linux-gnu/"

# The debug image: /busybox/sh works, and finds slipway on the image's PATH.
dbg_env=()
while IFS= read -r e; do dbg_env+=("$e"); done < <(json_get "$(image_config "$TEST_TMP/pulled" test-debug)" \
  '"\n".join(j["config"]["Env"])')
[ -x "$dbg/busybox/sh" ] || fail "no /busybox/sh in the debug image"
got=$(env -i "${dbg_env[@]}" "$chroot" "$dbg" /busybox/sh -c 'echo $((6 * 7)) $(slipway version | head -n1)' 2>&1) ||
  fail "/busybox/sh in the debug image: $got"
[ "$got" = "42 $(echo "$want" | head -n1)" ] || fail "debug shell said: $got"

# The debug image as a CI job: credentials in /slipway/.docker/config.json,
# a build with a RUN step, pushed with those credentials. / must be a mount
# point (slipway makes its mounts private), as it is in any container.
cp "$TEST_TMP/docker/config.json" "$dbg/slipway/.docker/config.json"
mkdir -p "$dbg/builds/hello" "$dbg/proc" "$dbg/dev"
cp -r "$SLIPWAY_SOURCE_DIR/examples/hello/." "$dbg/builds/hello/"
echo 'RUN echo "built in $(cat /etc/hostname)" > /www/built.txt' >>"$dbg/builds/hello/Dockerfile"
"$SLIPWAY_SOURCE_DIR/tests/make_base_image.sh" "$dbg/builds/busybox" latest >/dev/null
job='cd /builds/hello && slipway build --context . --build-context busybox=oci-layout:///builds/busybox:latest \
  --destination '"$REGISTRY"'/apps/hello:1 --insecure-registry '"$REGISTRY"' --arch-suffix --state-dir /builds/.state'
run_job() {
  unshare -m --propagation private /bin/bash -c 'mount --bind "$1" "$1" && mount -t proc proc "$1/proc" &&
      mount --rbind /dev "$1/dev" && shift && exec env -i "$@"' - "$dbg" "${dbg_env[@]}" \
    "$chroot" "$dbg" /busybox/sh -c "$job"
}
run_job >"$TEST_TMP/job.log" 2>&1 || fail "the CI job in the debug image: $(cat "$TEST_TMP/job.log")"
skopeo copy -q --src-tls-verify=false --src-creds 'ci-user:s3cret pass' \
  "docker://$REGISTRY/apps/hello:1-$arch" "oci:$TEST_TMP/hello:1" || fail "hello was not pushed by the job"
unpack_image "$TEST_TMP/hello" 1 "$TEST_TMP/hello-unpacked"
[ "$(cat "$TEST_TMP/hello-unpacked/rootfs/www/built.txt")" = "built in busybox" ] || fail "the RUN step's output is missing"
grep -q "It works" "$TEST_TMP/hello-unpacked/rootfs/www/index.html" || fail "the COPY step's output is missing"
# The push above used the image's DOCKER_CONFIG: without it, it is refused.
rm "$dbg/slipway/.docker/config.json"
run_job >"$TEST_TMP/job2.log" 2>&1 && fail "pushed without credentials: the registry fixture has no auth?"
grep -qi "unauthorized\|401\|credentials" "$TEST_TMP/job2.log" || fail "unexpected failure without credentials: $(cat "$TEST_TMP/job2.log")"
pass
