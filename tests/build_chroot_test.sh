#!/usr/bin/env bash
# --isolation chroot and auto inside a "pod": pod_harness gives the build
# Docker's default capabilities and RuntimeDefault's seccomp denials (no
# unshare, no namespace clone flags, no mount, no pivot_root, no setns), as
# Kaniko gets in Kubernetes. The image must come out right, byte for byte the
# image the namespace sandbox builds outside the pod, with nothing of the
# sandbox (dev nodes, /proc, resolv.conf, hosts, secrets, caches) in a layer.
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "skip: needs root to start the pod harness"; pass; }
POD=${POD_HARNESS:-${SLIPWAY_BINARY_DIR:-}/tests/pod_harness}
[ -x "$POD" ] || fail "pod_harness not built (expected at $POD)"
BASE=$(base_image)
bin=$(user_binary)

# The harness must really be a pod: no user namespace, no mount, Docker's caps.
"$POD" -- unshare -U true 2>/dev/null && fail "unshare -U works inside the harness: it is not a pod"
"$POD" -- unshare -m true 2>/dev/null && fail "unshare -m works inside the harness"
caps=$("$POD" -- grep CapEff /proc/self/status)
expect_contains "$caps" "00000000a80425fb"  # Docker's default set, exactly

ctx=$TEST_TMP/ctx
mkdir -p "$ctx"
echo "s3cret-value-$$" > "$TEST_TMP/secret"
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox
RUN echo hidden > /dev/null && head -c 16 /dev/urandom | wc -c > /rand && test -c /dev/zero && echo x > /dev/shm/x && echo tmp > /tmp/t
RUN echo a | tr a b > /piped && echo m > /modes && chmod 751 /modes && chown 33:50 /modes && (sleep 1 & wait) && echo bg > /bg
RUN rm /etc/group && cat /etc/resolv.conf > /resolv.seen && grep -q localhost /etc/hosts && echo ok > /hosts.seen
RUN --mount=type=cache,target=/cache echo cached > /cache/c
RUN --mount=type=cache,target=/cache cp /cache/c /from-cache
RUN --mount=type=secret,id=tok test -s /run/secrets/tok && echo secret-seen > /secret.seen
RUN <<EOF
#!/bin/sh
echo heredoc > /heredoc
EOF
RUN sh -c 'sleep 3171 >/dev/null 2>&1 &' && (sleep 3172 >/dev/null 2>&1 &) && echo left > /left
USER app
RUN id -u > /tmp/uid && mkdir /tmp/appdir && touch /tmp/appdir/mine && ! touch /root/nope 2>/dev/null
USER root
DOCKERFILE
# A host whose hosts file lacks localhost would fail the grep for the wrong reason.
grep -q localhost /etc/hosts || fail "this machine's /etc/hosts has no localhost line"

build() {  # OUT ISOLATION [RUNNER...]: prints the digest
  local out=$1 iso=$2
  shift 2
  mkdir -p "$out.state"
  "$@" "$bin" build --context "$ctx" --build-context busybox=oci-layout://"$BASE":latest --reproducible \
    --secret id=tok,src="$TEST_TMP/secret" --state-dir "$out.state" --oci-layout-path "$out" \
    ${iso:+--isolation "$iso"} 2>"$out.log" || fail "build ($iso) failed: $(cat "$out.log")"
}
chroot_digest=$(build "$TEST_TMP/chroot" chroot "$POD" --)
grep -q "isolation: chroot" "$TEST_TMP/chroot.log" || fail "no isolation line: $(cat "$TEST_TMP/chroot.log")"
pgrep -f "sleep 317[12]" >/dev/null && fail "a process the step left running survived it: $(pgrep -af 'sleep 317[12]')"

auto_digest=$(build "$TEST_TMP/auto" "" "$POD" --)
grep -q "isolation: chroot (running as root where namespaces are refused" "$TEST_TMP/auto.log" \
  || fail "auto did not pick chroot in the pod: $(head -3 "$TEST_TMP/auto.log")"
[ "$(grep -c '^isolation:' "$TEST_TMP/auto.log")" = 1 ] || fail "the isolation choice must be logged once"
[ "$auto_digest" = "$chroot_digest" ] || fail "auto built $auto_digest, chroot $chroot_digest"

# Outside the pod the namespace sandbox builds the same image.
ns_digest=$(build "$TEST_TMP/ns" "")
grep -q "isolation: host namespaces" "$TEST_TMP/ns.log" || fail "auto as root on a host must keep namespaces"
[ "$ns_digest" = "$chroot_digest" ] || {
  diff <(all_layers_text "$TEST_TMP/ns" latest | tar -tiv) <(all_layers_text "$TEST_TMP/chroot" latest | tar -tiv) >&2 || true
  fail "namespaces built $ns_digest but chroot $chroot_digest"
}

unpack_image "$TEST_TMP/chroot" latest "$TEST_TMP/u"
r=$TEST_TMP/u/rootfs
[ "$(tr -d ' ' < "$r/rand")" = 16 ] || fail "/dev/urandom: $(cat "$r/rand")"
[ "$(cat "$r/piped")" = b ] || fail "pipe"
[ "$(stat -c '%a %u:%g' "$r/modes")" = "751 33:50" ] || fail "chmod/chown: $(stat -c '%a %u:%g' "$r/modes")"
[ "$(cat "$r/bg")" = bg ] || fail "background process"
[ -e "$r/etc/group" ] && fail "deleted base file (whiteout) came back"
[ -e "$r/etc/passwd" ] || fail "base files lost"
[ "$(cat "$r/resolv.seen")" = "$(cat /etc/resolv.conf)" ] || fail "the step did not see the host's resolv.conf"
[ "$(cat "$r/hosts.seen")" = ok ] || fail "hosts"
[ "$(cat "$r/from-cache")" = cached ] || fail "cache mount not kept between steps"
[ "$(cat "$r/secret.seen")" = secret-seen ] || fail "secret"
[ "$(cat "$r/heredoc")" = heredoc ] || fail "heredoc script"
[ "$(cat "$r/tmp/uid")" = 1000 ] || fail "USER app: $(cat "$r/tmp/uid")"
[ "$(stat -c '%u:%g' "$r/tmp/appdir/mine")" = 1000:1000 ] || fail "USER app's file: $(stat -c '%u:%g' "$r/tmp/appdir/mine")"
[ "$(cat "$r/tmp/t")" = tmp ] || fail "/tmp"
for p in dev proc etc/resolv.conf etc/hosts run cache; do
  [ -e "$r/$p" ] && fail "/$p was made for the sandbox and reached the image"
done
[ -z "$(find "$r" -type c -o -type b)" ] || fail "device nodes in the image: $(find "$r" -type c -o -type b)"
all_layers_text "$TEST_TMP/chroot" latest > "$TEST_TMP/layers.tar"
listing=$(tar -ti -f "$TEST_TMP/layers.tar")
expect_contains "$listing" "from-cache"  # the listing covers this build's layers
for p in dev/ proc/ etc/resolv.conf etc/hosts run/ cache/; do
  grep -qx "\(\./\)\?$p" <<<"$listing" && fail "a layer holds $p"
done
grep -aq "s3cret-value" "$TEST_TMP/layers.tar" && fail "the secret reached a layer"
cfg=$(image_config "$TEST_TMP/chroot" latest)
[ "$(json_get "$cfg" 'j["config"].get("User","")')" = root ] || fail "USER in config"
[ "$(json_get "$cfg" 'len(j["rootfs"]["diff_ids"])')" = 9 ] || fail "layer count: $(json_get "$cfg" 'j["rootfs"]["diff_ids"]')"

# /proc in a pod: an empty dir (mount is refused), which the build says once.
ctx2=$TEST_TMP/ctx2
mkdir -p "$ctx2"
printf 'FROM busybox\nRUN test -d /proc && test -z "$(ls -A /proc)" && echo empty > /proc-was-empty\nRUN true\n' > "$ctx2/Dockerfile"
mkdir -p "$TEST_TMP/p.state"
"$POD" -- "$bin" build --context "$ctx2" --build-context busybox=oci-layout://"$BASE":latest --state-dir "$TEST_TMP/p.state" \
  --oci-layout-path "$TEST_TMP/p" 2>"$TEST_TMP/p.log" >/dev/null || fail "proc build: $(cat "$TEST_TMP/p.log")"
[ "$(grep -c "empty /proc" "$TEST_TMP/p.log")" = 1 ] || fail "the empty /proc must be warned about once: $(cat "$TEST_TMP/p.log")"
unpack_image "$TEST_TMP/p" latest "$TEST_TMP/up"
[ "$(cat "$TEST_TMP/up/rootfs/proc-was-empty")" = empty ] || fail "/proc in the pod"
[ -e "$TEST_TMP/up/rootfs/proc" ] && fail "/proc reached the image"

# A step may remove what the sandbox put in (a mount would have refused):
# the build goes on, and the image lacks what the step removed.
# Root in the step has lost CAP_SYS_CHROOT: no chroot-in-chroot escape.
printf 'FROM busybox\nRUN rm -rf /dev /etc/hosts /etc/resolv.conf && rm -rf /etc && echo gone > /gone\nRUN test -c /dev/null && test -s /etc/hosts\nRUN ! chroot / /bin/true 2>/dev/null\n' \
  > "$ctx2/Dockerfile"
"$POD" -- "$bin" build --context "$ctx2" --build-context busybox=oci-layout://"$BASE":latest --state-dir "$TEST_TMP/p.state" \
  --oci-layout-path "$TEST_TMP/g" 2>"$TEST_TMP/g.log" >/dev/null || fail "removing sandbox paths: $(cat "$TEST_TMP/g.log")"
unpack_image "$TEST_TMP/g" latest "$TEST_TMP/ug"
[ -e "$TEST_TMP/ug/rootfs/gone" ] || fail "the step's own file is missing"
[ -e "$TEST_TMP/ug/rootfs/etc" ] && fail "/etc was removed by the step but is in the image"

# SIGTERM during a chrooted step: the step and everything it started die,
# and the stage root and work dir go.
printf 'FROM busybox\nRUN sleep 3173 & sleep 3174\n' > "$ctx2/Dockerfile"
"$POD" -- "$bin" build --context "$ctx2" --build-context busybox=oci-layout://"$BASE":latest --state-dir "$TEST_TMP/i.state" \
  --no-push >/dev/null 2>&1 &
harness=$!
for _ in $(seq 100); do pgrep -f "sleep 3174" >/dev/null && break; sleep 0.1; done
pgrep -f "sleep 3174" >/dev/null || fail "the step never started"
pkill -TERM -P "$harness" -x slipway || kill -TERM "$(pgrep -P "$harness")"
wait "$harness" && fail "an interrupted build succeeded"
sleep 0.5
pgrep -f "sleep 317[34]" >/dev/null && fail "processes of the interrupted step survived: $(pgrep -af 'sleep 317[34]')"
[ -z "$(ls -A "$TEST_TMP/i.state/tmp")" ] || fail "the interrupted build left $(ls "$TEST_TMP/i.state/tmp")"

# A failing step fails the build and leaves the stage root clean for nobody.
printf 'FROM busybox\nRUN exit 3\n' > "$ctx2/Dockerfile"
out=$("$POD" -- "$bin" build --context "$ctx2" --build-context busybox=oci-layout://"$BASE":latest \
  --state-dir "$TEST_TMP/p.state" --no-push 2>&1) && fail "a failing RUN succeeded"
expect_contains "$out" "RUN returned a non-zero code: 3"
[ -z "$(ls -A "$TEST_TMP/p.state/tmp")" ] || fail "build left its work dir: $(ls "$TEST_TMP/p.state/tmp")"

# Not root and no user namespaces: auto names what is missing and what works.
mkdir -p "$TEST_TMP/nobody" && chmod 777 "$TEST_TMP/nobody"
out=$(HOME=$TEST_TMP/nobody "$POD" --uid 65534 --gid 65534 -- "$bin" build --context "$ctx2" \
  --build-context busybox=oci-layout://"$BASE":latest --state-dir "$TEST_TMP/nobody/state" --no-push 2>&1) \
  && fail "auto succeeded as nobody without user namespaces"
expect_contains "$out" "cannot isolate RUN steps"
expect_contains "$out" "uid 65534"
expect_contains "$out" "Operation not permitted"
expect_contains "$out" "--isolation chroot"
out=$(HOME=$TEST_TMP/nobody "$POD" --uid 65534 --gid 65534 -- "$bin" build --isolation chroot --context "$ctx2" \
  --no-push 2>&1) && fail "--isolation chroot succeeded as nobody"
expect_contains "$out" "needs root"
out=$("$POD" -- "$bin" build --isolation userns --context "$ctx2" --no-push 2>&1) && fail "--isolation userns in a pod"
expect_contains "$out" "--isolation chroot works here"
pass
