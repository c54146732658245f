#!/usr/bin/env bash
# Self-hosting: the freshly built slipway builds its own image (both targets of
# the repository's Dockerfile, from scripts/bundle's context), pushes them to
# a docker-registry with Basic auth, and skopeo checks entrypoint, env and
# platform. Then each image is unpacked and run from its own root: the
# bundled binary must start with only what the image holds (loader, libs),
# the debug image's /busybox/sh must work, and the examples run as written:
#  - examples/gitlab-ci/.gitlab-ci.yml: the build, test and manifest jobs'
#    scripts, in the debug image and in the image the build job pushed;
#  - examples/kubernetes: each Job's slipway args, in the release image, as
#    root with --isolation chroot and as uid 1000 with a user namespace.
# What a kubelet adds (seccomp, AppArmor, procMount, hostUsers) is not here.
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
# libarchive is linked without the formats Slipway never uses (CMakeLists.txt),
# so libxml2 and ICU's 30 MB of data stay out of the image.
extra=$(find "$rel" -name 'libxml2*' -o -name 'libicu*')
[ -z "$extra" ] || fail "the release image holds libraries only libarchive's xar format needs: $extra"
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

# The jobs of examples/gitlab-ci/.gitlab-ci.yml, as GitLab runs them: the
# build and manifest jobs' before_script + script in the debug image (with
# the image's env, the file's variables, then CI's), the test job's script in
# the image the build job pushed. / must be a mount point (slipway makes its
# mounts private), as it is in any container.
ci_yml=$SLIPWAY_SOURCE_DIR/examples/gitlab-ci/.gitlab-ci.yml
ci_job() {  # JOB script|vars|image
  python3 - "$ci_yml" "$1" "$2" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
def resolve(name):
    job = dict(doc[name])
    ext = job.pop("extends", None)
    if ext is None:
        return job
    merged = {}
    for e in [ext] if isinstance(ext, str) else ext:
        merged.update(resolve(e))
    merged.update(job)
    return merged
job = resolve(sys.argv[2])
if sys.argv[3] == "script":
    print("\n".join(job.get("before_script", []) + job["script"]))
elif sys.argv[3] == "vars":
    print("\n".join(f"{k}={v}" for k, v in doc.get("variables", {}).items()))
else:
    print(job["image"]["name"], job["image"]["entrypoint"])
PY
}
for j in build test manifest; do ci_job "$j" script >/dev/null || fail "examples/gitlab-ci: job $j does not parse"; done
[ "$(ci_job build image)" = "\$SLIPWAY_IMAGE ['']" ] || fail "the build job must run \$SLIPWAY_IMAGE with entrypoint [\"\"]"
expect_match "$(ci_job build vars)" "SLIPWAY_IMAGE=[^ ]*-debug"
yml_vars=()
while IFS= read -r v; do yml_vars+=("$v"); done < <(ci_job build vars)
ci_vars=(CI_REGISTRY="$REGISTRY" CI_REGISTRY_IMAGE="$REGISTRY/group/project" CI_REGISTRY_USER=ci-user
  CI_REGISTRY_PASSWORD='s3cret pass' CI_COMMIT_TAG=v1.0 CI_COMMIT_SHA=0123456789abcdef CI_PROJECT_DIR=/builds/project
  BUILD_ARCH="$arch" REGISTRY_FLAGS="--insecure-registry $REGISTRY"
  BUILD_FLAGS="--cache --cache-repo $REGISTRY/group/project/cache")
contained() {  # ROOTFS VAR=VALUE... ARGV...: ARGV chrooted in ROOTFS, a mount point, with only those variables
  local root=$1; shift
  mkdir -p "$root/proc" "$root/dev"
  unshare -m --propagation private /bin/bash -c 'mount --bind "$1" "$1" && mount -t proc proc "$1/proc" &&
      mount --rbind /dev "$1/dev" && shift && exec env -i "$@"' - "$root" "$@"
}
in_debug_image() {  # SCRIPT [VAR=VALUE...]
  local script=$1; shift
  contained "$dbg" "${dbg_env[@]}" "${yml_vars[@]}" "${ci_vars[@]}" "$@" "$chroot" "$dbg" /busybox/sh -e -c "$script"
}
mkdir -p "$dbg/builds/project"
cp -r "$SLIPWAY_SOURCE_DIR/examples/hello/." "$dbg/builds/project/"
# The project's base from the test registry (no network), and a RUN step.
sed -i "s|^FROM busybox|FROM $REGISTRY/library/busybox:1|" "$dbg/builds/project/Dockerfile"
echo 'RUN echo "built in $(cat /etc/hostname)" > /www/built.txt' >>"$dbg/builds/project/Dockerfile"
skopeo copy -q --dest-tls-verify=false --dest-creds 'ci-user:s3cret pass' "oci:$(base_image):latest" \
  "docker://$REGISTRY/library/busybox:1" || fail "seeding the base image"

in_debug_image "$(ci_job build script)" >"$TEST_TMP/build-job.log" 2>&1 ||
  fail "the build job in the debug image: $(cat "$TEST_TMP/build-job.log")"
expect_match "$(cat "$dbg/builds/project/image-$arch.txt")" "^$REGISTRY/group/project:v1.0-$arch@sha256:[0-9a-f]{64}$"
# The pipeline again (BUILD_FLAGS as the example suggests): every step a
# cache hit from the cache repo.
in_debug_image "$(ci_job build script)" >"$TEST_TMP/build-job-again.log" 2>&1 ||
  fail "the build job, again: $(cat "$TEST_TMP/build-job-again.log")"
[ "$(grep -c "CACHED" "$TEST_TMP/build-job-again.log")" = 2 ] ||
  fail "the second build job must hit the cache for COPY and RUN: $(cat "$TEST_TMP/build-job-again.log")"
built=$(cut -d@ -f2 "$dbg/builds/project/image-$arch.txt")
# The credentials came from the job's config.json: a wrong password fails.
in_debug_image "$(ci_job build script)" CI_REGISTRY_PASSWORD=wrong >"$TEST_TMP/build-job2.log" 2>&1 &&
  fail "the build job pushed with a wrong password"
grep -qi "unauthorized\|401" "$TEST_TMP/build-job2.log" || fail "wrong password, unexpected: $(cat "$TEST_TMP/build-job2.log")"

# The test job, in the pushed image, in its own network and PID namespaces
# (its httpd must neither collide with other tests nor outlive the job).
skopeo copy -q --src-tls-verify=false --src-creds 'ci-user:s3cret pass' \
  "docker://$REGISTRY/group/project:v1.0-$arch" "oci:$TEST_TMP/app:x" || fail "no per-arch image from the build job"
unpack_image "$TEST_TMP/app" x "$TEST_TMP/app-unpacked"
app=$TEST_TMP/app-unpacked/rootfs
[ "$(cat "$app/www/built.txt")" = "built in busybox" ] || fail "the RUN step's output is missing"
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin unshare -n -p -f "$chroot" "$app" /bin/sh -e -c \
  "ip link set lo up; $(ci_job test script)" >"$TEST_TMP/test-job.log" 2>&1 ||
  fail "the test job: $(cat "$TEST_TMP/test-job.log")"
expect_contains "$(cat "$TEST_TMP/test-job.log")" "It works"

# The manifest job, with an arm64 image standing in for the arm64 build job.
make_oci_image "$TEST_TMP/arm64-img" arm64
skopeo copy -q --dest-tls-verify=false --dest-creds 'ci-user:s3cret pass' "oci:$TEST_TMP/arm64-img:latest" \
  "docker://$REGISTRY/group/project:v1.0-arm64" || fail "seeding the arm64 image"
in_debug_image "$(ci_job manifest script)" >"$TEST_TMP/manifest-job.log" 2>&1 ||
  fail "the manifest job: $(cat "$TEST_TMP/manifest-job.log")"
raw=$(skopeo inspect --raw --tls-verify=false "${creds[@]}" "docker://$REGISTRY/group/project:v1.0") || fail "no index"
[ "$(json_get "$raw" '[m["platform"]["architecture"] for m in j["manifests"]]')" = "['$arch', 'arm64']" ] ||
  fail "index platforms: $raw"
[ "$(json_get "$raw" 'j["manifests"][0]["digest"]')" = "$built" ] || fail "the index does not list the built image"
expect_contains "$(cat "$TEST_TMP/manifest-job.log")" "linux/arm64"

# examples/kubernetes: both Jobs' slipway args are valid, and the
# RuntimeDefault Job's container runs as written in the release image: its
# volumes (workspace, state, the docker-config secret) in place, only the
# destination pointed at the test registry.
k8s_args() {  # FILE: the slipway container's args, one a line
  python3 - "$SLIPWAY_SOURCE_DIR/examples/kubernetes/$1" <<'PY'
import sys, yaml
job = yaml.safe_load(open(sys.argv[1]))
c = [c for c in job["spec"]["template"]["spec"]["containers"] if c["name"] == "slipway"][0]
print("\n".join(c["args"]))
PY
}
help=$("$SLIPWAY" build --help)
for f in job-rootless.yaml job-runtimedefault.yaml; do
  k8s=$(k8s_args "$f") || fail "examples/kubernetes/$f does not parse"
  [ "$(echo "$k8s" | head -n1)" = build ] || fail "$f: the args must start with the command (the entrypoint is slipway)"
  for flag in $(echo "$k8s" | sed -n 's/^\(--[a-z-]*\).*/\1/p'); do
    expect_contains "$help" "$flag "
  done
done
rel_env=()
while IFS= read -r e; do rel_env+=("$e"); done < <(json_get "$(image_config "$TEST_TMP/pulled" test)" '"\n".join(j["config"]["Env"])')
k8s=()
while IFS= read -r a; do
  [[ "$a" == --destination=* ]] && a="--destination=$REGISTRY/group/project:k8s"
  k8s+=("$a")
done < <(k8s_args job-runtimedefault.yaml)
mkdir -p "$rel/workspace" "$rel/state"
cp -r "$dbg/builds/project/." "$rel/workspace/"
rm -f "$rel/workspace/image-"*.txt
cp "$TEST_TMP/docker/config.json" "$rel/slipway/.docker/config.json"
contained "$rel" "${rel_env[@]}" "$chroot" "$rel" /slipway/bin/slipway "${k8s[@]}" --insecure-registry "$REGISTRY" \
  >"$TEST_TMP/k8s-job.log" 2>&1 || fail "the RuntimeDefault Job's container: $(cat "$TEST_TMP/k8s-job.log")"
expect_contains "$(cat "$TEST_TMP/k8s-job.log")" "isolation: chroot"
skopeo copy -q --src-tls-verify=false --src-creds 'ci-user:s3cret pass' \
  "docker://$REGISTRY/group/project:k8s" "oci:$TEST_TMP/k8s:x" || fail "the Job pushed nothing"
unpack_image "$TEST_TMP/k8s" x "$TEST_TMP/k8s-unpacked"
[ "$(cat "$TEST_TMP/k8s-unpacked/rootfs/www/built.txt")" = "built in busybox" ] || fail "the Job's RUN step, chrooted"

# Root in a plain chroot (a schroot-style job: /proc mounted, but the root dir
# is not a mount point, so no mount namespace can be made private): auto picks
# chroot, and RUN steps work without the builder mounting anything.
cp -r "$(base_image)" "$rel/base"
mkdir -p "$rel/plain-ctx" && printf 'FROM base\nRUN echo plain > /plain.txt\n' >"$rel/plain-ctx/Dockerfile"
rm -rf "$rel/state" && mkdir -p "$rel/state"
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin unshare -m --propagation private /bin/bash -c \
  'mount -t proc proc "$1/proc" && exec env -i "${@:2}"' - "$rel" "${rel_env[@]}" "$chroot" "$rel" /slipway/bin/slipway \
  build --context /plain-ctx --build-context base=oci-layout:///base:latest --no-push --oci-layout-path /plain-out \
  >"$TEST_TMP/plain.log" 2>&1 || fail "root in a plain chroot: $(cat "$TEST_TMP/plain.log")"
expect_contains "$(cat "$TEST_TMP/plain.log")" "isolation: chroot"
expect_contains "$(cat "$TEST_TMP/plain.log")" "no private mount namespace"
unpack_image "$rel/plain-out" latest "$TEST_TMP/plain-unpacked"
[ "$(cat "$TEST_TMP/plain-unpacked/rootfs/plain.txt")" = plain ] || fail "the plain chroot's RUN step"

# The rootless Job's container: uid 1000 in the release image's own root,
# with a user namespace for RUN. pivot_root, not chroot: the kernel refuses
# a user namespace to a chrooted process. The host's setpriv drops to 1000
# after the switch, run by the host's loader from the old root (now
# /.oldroot), so it needs nothing from the image.
k8s=()
while IFS= read -r a; do
  [[ "$a" == --destination=* ]] && a="--destination=$REGISTRY/group/project:rootless"
  k8s+=("$a")
done < <(k8s_args job-rootless.yaml)
rm -rf "$rel/state" && mkdir -p "$rel/state" "$rel/.oldroot" && chown 1000:1000 "$rel/state"
setpriv=$(command -v setpriv) || fail "setpriv (util-linux) is needed"
loader=$(readlink -f "$(readelf -l "$setpriv" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')")
env -i "${rel_env[@]}" "$(command -v unshare)" -m --propagation private /bin/bash -c 'image_path=$PATH
    PATH=/usr/sbin:/usr/bin:/sbin:/bin
    mount --bind "$1" "$1" && mount -t proc proc "$1/proc" && mount --rbind /dev "$1/dev" &&
    cd "$1" && pivot_root . .oldroot && shift && PATH=$image_path && exec "$@"' - "$rel" \
  "/.oldroot$loader" --library-path "/.oldroot$(dirname "$loader")" "/.oldroot$setpriv" --reuid 1000 --regid 1000 --clear-groups \
  /slipway/bin/slipway "${k8s[@]}" --insecure-registry "$REGISTRY" >"$TEST_TMP/k8s-rootless.log" 2>&1 ||
  fail "the rootless Job's container: $(cat "$TEST_TMP/k8s-rootless.log")"
expect_contains "$(cat "$TEST_TMP/k8s-rootless.log")" "isolation: userns"
skopeo copy -q --src-tls-verify=false --src-creds 'ci-user:s3cret pass' \
  "docker://$REGISTRY/group/project:rootless" "oci:$TEST_TMP/rootless:x" || fail "the rootless Job pushed nothing"
unpack_image "$TEST_TMP/rootless" x "$TEST_TMP/rootless-unpacked"
[ "$(cat "$TEST_TMP/rootless-unpacked/rootfs/www/built.txt")" = "built in busybox" ] || fail "the rootless Job's RUN step"
[ "$(stat -c %u "$rel/state")" = 1000 ] && [ -z "$(find "$rel/state" -user 0 -print -quit)" ] ||
  fail "the rootless build left root-owned files in its state dir: it did not run as uid 1000"
pass
