#!/usr/bin/env bash
# The multi-arch pipeline of examples/gitlab-ci/, locally: per-arch builds
# pushed with --arch-suffix, a test of the per-arch image, then one index
# (`slipway manifest create`) that skopeo resolves per platform.
#  - the base is itself a two-platform index (amd64 + arm64 busybox), so each
#    build must pick its platform's base out of it;
#  - the host build has RUN steps; the arm64 build (--custom-platform) only
#    COPY/ENV, as nothing here can execute arm64 code (no qemu);
#  - the arm64 busybox is Debian's busybox-static:arm64, cached by
#    `scripts/deps --test`: no network at test time.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_fixture/registry.sh"
[ "$(id -u)" -eq 0 ] || fail "needs root (chroot into the built image)"
arch=$(uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')
[ "$arch" != arm64 ] || fail "the cross-platform half needs a non-arm64 host (it builds for arm64)"
deb=/var/cache/slipway-test/busybox-static_arm64.deb
[ -s "$deb" ] || fail "$deb is missing: run scripts/deps --test (it fetches busybox-static:arm64)"

# ELF e_machine, the two bytes at offset 18 (little endian): b7 00 is AArch64.
elf_machine() { od -An -tx1 -j18 -N2 "$1" | tr -d ' \n'; }
dpkg-deb -x "$deb" "$TEST_TMP/bb-arm64" || fail "cannot unpack $deb"
[ "$(elf_machine "$TEST_TMP/bb-arm64/bin/busybox")" = b700 ] || fail "$deb does not hold an aarch64 busybox"

start_registry
reg_flags=(--insecure-registry "$REGISTRY")
"$SLIPWAY_SOURCE_DIR/tests/make_base_image.sh" "$TEST_TMP/base-$arch" latest /bin/busybox "$arch" >/dev/null
"$SLIPWAY_SOURCE_DIR/tests/make_base_image.sh" "$TEST_TMP/base-arm64" latest "$TEST_TMP/bb-arm64/bin/busybox" arm64 >/dev/null
for a in "$arch" arm64; do
  skopeo copy -q --dest-tls-verify=false "oci:$TEST_TMP/base-$a:latest" "docker://$REGISTRY/base/busybox:1-$a" ||
    fail "skopeo could not seed the $a base"
done
"$SLIPWAY" manifest create "${reg_flags[@]}" --target "$REGISTRY/base/busybox:1" \
  "$REGISTRY/base/busybox:1-$arch" "$REGISTRY/base/busybox:1-arm64" >/dev/null 2>"$TEST_TMP/base.err" ||
  fail "base index: $(cat "$TEST_TMP/base.err")"

ctx=$TEST_TMP/ctx
mkdir -p "$ctx"
printf '#!/bin/sh\necho "app on $(uname -m), mode $APP_MODE"\n' >"$ctx/app.sh"
cat >"$ctx/Dockerfile" <<'EOF'
ARG REG
FROM $REG/base/busybox:1
ARG TARGETARCH
COPY app.sh /app/app.sh
RUN chmod 755 /app/app.sh && echo "built for $TARGETARCH on $(uname -m)" > /app/build-info
ENV APP_MODE=production
CMD ["/app/app.sh"]
EOF
# The same image for a platform this machine cannot execute: no RUN.
cat >"$ctx/Dockerfile.arm64" <<'EOF'
ARG REG
FROM $REG/base/busybox:1
ARG TARGETARCH
COPY --chmod=755 app.sh /app/app.sh
ENV APP_MODE=production BUILT_FOR=$TARGETARCH
CMD ["/app/app.sh"]
EOF

# Build stage: one job per architecture, each pushing TAG-<arch>.
build() {
  "$SLIPWAY" build --context "$ctx" --build-arg REG="$REGISTRY" "${reg_flags[@]}" --state-dir "$TEST_TMP/state" \
    --destination "$REGISTRY/app:1.0" --arch-suffix "$@"
}
d_host=$(build 2>"$TEST_TMP/build-host.err") || fail "host build: $(cat "$TEST_TMP/build-host.err")"
d_arm=$(build -f "$ctx/Dockerfile.arm64" --custom-platform linux/arm64 2>"$TEST_TMP/build-arm.err") ||
  fail "arm64 build: $(cat "$TEST_TMP/build-arm.err")"

# Test stage: run the host image's entrypoint from its own root.
skopeo copy -q --src-tls-verify=false "docker://$REGISTRY/app:1.0-$arch" "oci:$TEST_TMP/host:x" ||
  fail "no $REGISTRY/app:1.0-$arch"
unpack_image "$TEST_TMP/host" x "$TEST_TMP/host-unpacked"
out=$(env -i APP_MODE=production "$(command -v chroot)" "$TEST_TMP/host-unpacked/rootfs" /app/app.sh 2>&1) ||
  fail "running the $arch image: $out"
[ "$out" = "app on $(uname -m), mode production" ] || fail "the $arch image said: $out"
[ "$(cat "$TEST_TMP/host-unpacked/rootfs/app/build-info")" = "built for $arch on $(uname -m)" ] || fail "RUN output"

# Manifest stage: the two per-arch tags become one multi-arch tag.
idx=$("$SLIPWAY" manifest create "${reg_flags[@]}" --target "$REGISTRY/app:1.0" \
  "$REGISTRY/app:1.0-$arch" "$REGISTRY/app:1.0-arm64" 2>"$TEST_TMP/manifest.err") ||
  fail "manifest create: $(cat "$TEST_TMP/manifest.err")"
expect_match "$idx" "^$REGISTRY/app:1.0@sha256:[0-9a-f]{64}$"
raw=$(skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/app:1.0") || fail "no index at app:1.0"
[ "$(json_get "$raw" 'j["mediaType"]')" = application/vnd.oci.image.index.v1+json ] || fail "not an index: $raw"
[ "$(json_get "$raw" 'sorted(m["platform"]["os"] + "/" + m["platform"]["architecture"] for m in j["manifests"])')" = \
  "$(python3 -c 'import sys; print(sorted(sys.argv[1:]))' "linux/$arch" linux/arm64)" ] || fail "index platforms: $raw"
[ "$(json_get "$raw" '[m["digest"] for m in j["manifests"] if m["platform"]["architecture"] == "arm64"][0]')" = "$d_arm" ] ||
  fail "the arm64 entry is not the arm64 build ($d_arm): $raw"
[ "$(json_get "$raw" '[m["digest"] for m in j["manifests"] if m["platform"]["architecture"] == "'"$arch"'"][0]')" = "$d_host" ] ||
  fail "the $arch entry is not the host build ($d_host): $raw"

# A client on arm64 gets the arm64 image: config, base layer and busybox.
skopeo copy -q --src-tls-verify=false --override-arch arm64 "docker://$REGISTRY/app:1.0" "oci:$TEST_TMP/arm:x" ||
  fail "skopeo copy --override-arch arm64"
cfg=$(image_config "$TEST_TMP/arm" x)
[ "$(json_get "$cfg" 'j["os"] + "/" + j["architecture"]')" = linux/arm64 ] || fail "arm64 config: $cfg"
expect_contains "$(json_get "$cfg" 'j["config"]["Env"]')" "BUILT_FOR=arm64"
unpack_image "$TEST_TMP/arm" x "$TEST_TMP/arm-unpacked"
arm_root=$TEST_TMP/arm-unpacked/rootfs
[ "$(elf_machine "$arm_root/bin/busybox")" = b700 ] || fail "the arm64 image's busybox is not aarch64"
cmp -s "$arm_root/bin/busybox" "$TEST_TMP/bb-arm64/bin/busybox" || fail "the arm64 image's busybox is not the arm64 base's"
[ -x "$arm_root/app/app.sh" ] && cmp -s "$arm_root/app/app.sh" "$ctx/app.sh" || fail "COPY --chmod in the arm64 image"
# ... and an amd64 client the host image, not the arm64 one.
skopeo copy -q --src-tls-verify=false --override-arch "$arch" "docker://$REGISTRY/app:1.0" "oci:$TEST_TMP/back:x" ||
  fail "skopeo copy --override-arch $arch"
[ "$(json_get "$(image_config "$TEST_TMP/back" x)" 'j["architecture"]')" = "$arch" ] || fail "$arch client got another image"
pass
