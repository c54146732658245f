#!/usr/bin/env bash
# slipway build end to end as root: every instruction and the main flags,
# checked by reading the image back with skopeo and umoci.
source "$(dirname "$0")/lib.sh"
BASE=$(base_image)
ctx=$TEST_TMP/ctx
mkdir -p "$ctx/files"
echo "A" > "$ctx/files/a.txt"
printf '#!/bin/sh\necho script\n' > "$ctx/files/script.sh"
echo "ignore me" > "$ctx/files/ignored.log"
printf 'files/*.log\n' > "$ctx/.dockerignore"
echo -n "s3cr3t-t0ken-value" > "$TEST_TMP/token"
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox AS base
ONBUILD RUN echo triggered > /onbuild.txt
RUN rm /etc/hostname && mkdir -p /opt/del && touch /opt/del/x

FROM base AS main
ARG VERSION=1.0
ENV APP_HOME=/srv/app GREETING="hello world"
LABEL org.example.version=$VERSION maintainer=ops
WORKDIR $APP_HOME
COPY --chown=1234:5678 --chmod=640 files/ ./files/
COPY files/script.sh /usr/local/bin/
COPY <<EOF /srv/app/heredoc.txt
version=${VERSION}
EOF
RUN ln files/a.txt hardlink && ln -s files/a.txt symlink && chmod 4755 /usr/local/bin/script.sh && rm -rf /opt/del
RUN --mount=type=secret,id=token wc -c < /run/secrets/token > /srv/app/secret-len
RUN --mount=type=cache,target=/var/cache/app echo x >> /var/cache/app/log && wc -l < /var/cache/app/log > /srv/app/cache-count
RUN --mount=type=bind,source=files,target=/mnt/files cat /mnt/files/a.txt > /srv/app/bound.txt
RUN --mount=type=tmpfs,target=/scratch echo t > /scratch/t && test ! -e /srv/app/t
RUN --network=none cat /proc/net/dev | grep -c : > /srv/app/ifaces
USER app
EXPOSE 8080 9000/udp
VOLUME /data
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --retries=2 CMD wget -q -O- http://localhost:8080/ || exit 1
ENTRYPOINT ["/bin/sh"]
CMD ["-c", "cat $APP_HOME/files/a.txt"]

FROM busybox AS unused
RUN exit 3
DOCKERFILE

build() {
  "$SLIPWAY" build --context "$ctx" --build-context busybox=oci-layout://"$BASE":latest \
    --state-dir "$TEST_TMP/state" --secret id=token,src="$TEST_TMP/token" "$@"
}

# The default target is the last stage, whose RUN fails: exit 1, step named.
err=$(build --oci-layout-path "$TEST_TMP/fail" 2>&1) && fail "a failing RUN must fail the build"
expect_contains "$err" "Dockerfile:30:1: RUN returned a non-zero code: 3"

digest=$(build --target main --oci-layout-path "$TEST_TMP/out" --digest-file "$TEST_TMP/digest" 2>"$TEST_TMP/log") \
  || fail "build failed: $(cat "$TEST_TMP/log")"
expect_match "$digest" '^sha256:[0-9a-f]{64}$'
[ "$(cat "$TEST_TMP/digest")" = "$digest" ] || fail "digest file differs from the printed digest"
[ "$(skopeo inspect oci:"$TEST_TMP/out":latest | python3 -c 'import json,sys; print(json.load(sys.stdin)["Digest"])')" = "$digest" ] \
  || fail "skopeo sees a different digest"
grep -q "unused" "$TEST_TMP/log" && fail "the unused stage was built"

cfg=$(image_config "$TEST_TMP/out" latest)
c() { json_get "$cfg" "$1"; }
[ "$(c 'j["config"]["WorkingDir"]')" = "/srv/app" ] || fail "WorkingDir: $(c 'j["config"]')"
[ "$(c 'j["config"]["User"]')" = "app" ] || fail "User"
expect_contains "$(c 'j["config"]["Env"]')" "APP_HOME=/srv/app"
expect_contains "$(c 'j["config"]["Env"]')" "GREETING=hello world"
[ "$(c 'j["config"]["Labels"]["org.example.version"]')" = "1.0" ] || fail "LABEL with ARG"
[ "$(c 'sorted(j["config"]["ExposedPorts"])')" = "['8080/tcp', '9000/udp']" ] || fail "EXPOSE"
[ "$(c 'list(j["config"]["Volumes"])')" = "['/data']" ] || fail "VOLUME"
[ "$(c 'j["config"]["StopSignal"]')" = "SIGTERM" ] || fail "STOPSIGNAL"
[ "$(c 'j["config"]["Healthcheck"]["Test"][0]')" = "CMD-SHELL" ] || fail "HEALTHCHECK"
[ "$(c 'j["config"]["Healthcheck"]["Interval"]')" = "30000000000" ] || fail "HEALTHCHECK interval"
[ "$(c 'j["config"]["Entrypoint"]')" = "['/bin/sh']" ] || fail "ENTRYPOINT"
[ "$(c 'j["config"]["Cmd"]')" = "['-c', 'cat \$APP_HOME/files/a.txt']" ] || fail "CMD: $(c 'j["config"]["Cmd"]')"
[ "$(c 'j["architecture"]')" = "$(uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')" ] || fail "architecture"
[ "$(c 'j["os"]')" = "linux" ] || fail "os"
[ "$(c 'len(j["rootfs"]["diff_ids"])')" = "$(c 'len([h for h in j["history"] if not h.get("empty_layer")])')" ] \
  || fail "history and diff_ids disagree"
expect_contains "$(c '[h["created_by"] for h in j["history"]]')" "RUN |1 VERSION=1.0 /bin/sh -c ln files/a.txt"
[ "$(c '[h.get("empty_layer", False) for h in j["history"] if h["created_by"].startswith("USER")]')" = "[True]" ] \
  || fail "USER must be an empty layer"

root=$TEST_TMP/unpacked
unpack_image "$TEST_TMP/out" latest "$root"
r=$root/rootfs
[ "$(stat -c '%u:%g %a' "$r/srv/app/files/a.txt")" = "1234:5678 640" ] || fail "COPY --chown/--chmod: $(stat -c '%u:%g %a' "$r/srv/app/files/a.txt")"
[ -e "$r/srv/app/files/ignored.log" ] && fail ".dockerignore was not applied"
[ "$(stat -c '%a' "$r/usr/local/bin/script.sh")" = "4755" ] || fail "setuid bit lost"
[ "$(stat -c %i "$r/srv/app/hardlink")" = "$(stat -c %i "$r/srv/app/files/a.txt")" ] || fail "hardlink not kept"
[ "$(readlink "$r/srv/app/symlink")" = "files/a.txt" ] || fail "symlink"
[ -e "$r/etc/hostname" ] && fail "a file deleted from the base is still there (whiteout)"
[ -e "$r/opt/del" ] && fail "a deleted directory is still there (whiteout)"
[ "$(cat "$r/onbuild.txt")" = "triggered" ] || fail "ONBUILD trigger did not run"
[ "$(cat "$r/srv/app/heredoc.txt")" = "version=1.0" ] || fail "COPY heredoc: $(cat "$r/srv/app/heredoc.txt")"
[ "$(cat "$r/srv/app/secret-len")" = "18" ] || fail "secret mount"
[ "$(cat "$r/srv/app/bound.txt")" = "A" ] || fail "bind mount"
[ "$(cat "$r/srv/app/ifaces")" = "1" ] || fail "--network=none must leave only lo"
[ "$(cat "$r/srv/app/cache-count")" = "1" ] || fail "cache mount, first build"
[ -e "$r/run/secrets/token" ] && fail "the secret mount point leaked into the image"
[ -e "$r/scratch" ] && fail "the tmpfs mount point leaked into the image"
[ -e "$r/var/cache/app" ] && fail "the cache mount point leaked into the image"
if all_layers_text "$TEST_TMP/out" latest | grep -a -q "s3cr3t-t0ken-value"; then fail "the secret is in a layer"; fi
grep -q "s3cr3t-t0ken-value" "$TEST_TMP/log" && fail "the secret is in the log"
if image_config "$TEST_TMP/out" latest | grep -q "s3cr3t"; then fail "the secret is in the config"; fi

# The cache mount survives into the next build; the image is written again.
build --target main --oci-layout-path "$TEST_TMP/out2" >/dev/null 2>"$TEST_TMP/log2" || fail "second build: $(cat "$TEST_TMP/log2")"
unpack_image "$TEST_TMP/out2" latest "$TEST_TMP/unpacked2"
[ "$(cat "$TEST_TMP/unpacked2/rootfs/srv/app/cache-count")" = "2" ] || fail "cache mount not kept across builds"

# --log-format json: one JSON object per line.
build --target base --oci-layout-path "$TEST_TMP/out3" --log-format json >/dev/null 2>"$TEST_TMP/log3" || fail "json build"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$TEST_TMP/log3" || fail "--log-format json printed non-JSON"
grep -q '"event":"step"' "$TEST_TMP/log3" || fail "no step events"

# --tar-path: a docker-archive that skopeo reads, with the same layers.
build --target main -d example.com/app:1 --no-push --tar-path "$TEST_TMP/app.tar" >/dev/null 2>&1 || fail "--tar-path build"
tar_info=$(skopeo inspect "docker-archive:$TEST_TMP/app.tar") || fail "skopeo cannot read the docker-archive"
[ "$(json_get "$tar_info" 'len(j["Layers"])')" = "$(json_get "$cfg" 'len(j["rootfs"]["diff_ids"])')" ] || fail "docker-archive layer count"
tar -xOf "$TEST_TMP/app.tar" manifest.json | grep -q '"example.com/app:1"' || fail "docker-archive RepoTags"
# podman load accepts it (private storage, so the machine's is untouched).
pm=(podman --root "$TEST_TMP/podman/root" --runroot "$TEST_TMP/podman/run" --storage-driver vfs)
"${pm[@]}" load -i "$TEST_TMP/app.tar" >/dev/null 2>"$TEST_TMP/podman.log" || fail "podman load: $(cat "$TEST_TMP/podman.log")"
[ "$("${pm[@]}" image inspect example.com/app:1 --format '{{len .RootFS.Layers}}')" = "$(json_get "$cfg" 'len(j["rootfs"]["diff_ids"])')" ] \
  || fail "podman sees a different layer count"

# The context as a tarball, on stdin and from a file (Kaniko's tar://).
tar -C "$ctx" -czf "$TEST_TMP/ctx.tgz" .
build --target main --context tar://- --oci-layout-path "$TEST_TMP/out4" <"$TEST_TMP/ctx.tgz" >/dev/null 2>"$TEST_TMP/log4" \
  || fail "tar://- context: $(cat "$TEST_TMP/log4")"
unpack_image "$TEST_TMP/out4" latest "$TEST_TMP/unpacked4"
[ "$(cat "$TEST_TMP/unpacked4/rootfs/srv/app/bound.txt")" = "A" ] || fail "tar://- context content"
[ -e "$TEST_TMP/unpacked4/rootfs/srv/app/files/ignored.log" ] && fail ".dockerignore inside a tar context"
build --target base --context "tar://$TEST_TMP/ctx.tgz" --oci-layout-path "$TEST_TMP/out5" >/dev/null 2>&1 || fail "tar://FILE context"
pass
