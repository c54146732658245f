#!/usr/bin/env bash
# ADD: local archives unpacked (gzip, bzip2, xz, zstd, plain tar), http URLs
# fetched from a server on 127.0.0.1 with --checksum verified; a 404 and a
# wrong checksum fail the build.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_fixture/registry.sh"
BASE=$(base_image)
ctx=$TEST_TMP/ctx
mkdir -p "$ctx" "$TEST_TMP/arch/d" "$TEST_TMP/www"
echo inner > "$TEST_TMP/arch/d/inner.txt"
tar -C "$TEST_TMP/arch" -czf "$ctx/a.tgz" d
tar -C "$TEST_TMP/arch" -cjf "$ctx/a.tar.bz2" d
tar -C "$TEST_TMP/arch" -cJf "$ctx/a.tar.xz" d
tar -C "$TEST_TMP/arch" -cf - d | zstd -q -o "$ctx/a.tar.zst"
tar -C "$TEST_TMP/arch" -cf "$ctx/a.tar" d
echo "not an archive" > "$ctx/plain.gz.txt"
echo remote > "$TEST_TMP/www/remote.txt"
touch -d "2020-01-02 03:04:05 UTC" "$TEST_TMP/www/remote.txt"
port=$(free_port)
(cd "$TEST_TMP/www" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
at_exit "kill $!"
for i in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
sum=$(sha256sum "$TEST_TMP/www/remote.txt" | cut -d' ' -f1)

cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM busybox
ADD a.tgz /gz/
ADD a.tar.bz2 /bz2/
ADD a.tar.xz /xz/
ADD a.tar.zst /zst/
ADD a.tar /tar/
ADD plain.gz.txt /plain/
ADD http://127.0.0.1:$port/remote.txt /web/
ADD --checksum=sha256:$sum http://127.0.0.1:$port/remote.txt /web/checked.txt
DOCKERFILE
"$SLIPWAY" build --context "$ctx" --build-context busybox=oci-layout://"$BASE":latest --state-dir "$TEST_TMP/state" \
  --oci-layout-path "$TEST_TMP/out" >/dev/null 2>"$TEST_TMP/log" || fail "ADD build failed: $(cat "$TEST_TMP/log")"
unpack_image "$TEST_TMP/out" latest "$TEST_TMP/u"
r=$TEST_TMP/u/rootfs
for d in gz bz2 xz zst tar; do
  [ "$(cat "$r/$d/d/inner.txt")" = "inner" ] || fail "ADD did not unpack the $d archive"
done
[ "$(cat "$r/plain/plain.gz.txt")" = "not an archive" ] || fail "a non-archive must be copied as is"
[ "$(cat "$r/web/remote.txt")" = "remote" ] || fail "ADD URL"
[ "$(stat -c %a "$r/web/remote.txt")" = "600" ] || fail "ADD URL files are 0600, as in Docker"
[ "$(stat -c %Y "$r/web/remote.txt")" = "$(date -d '2020-01-02 03:04:05 UTC' +%s)" ] || fail "mtime must come from Last-Modified"
[ "$(cat "$r/web/checked.txt")" = "remote" ] || fail "ADD --checksum"

printf 'FROM busybox\nADD http://127.0.0.1:%s/missing.txt /m\n' "$port" > "$ctx/Dockerfile"
err=$("$SLIPWAY" build --context "$ctx" --build-context busybox=oci-layout://"$BASE":latest --state-dir "$TEST_TMP/state" --no-push 2>&1) \
  && fail "a 404 must fail the build"
expect_contains "$err" "HTTP 404"
printf 'FROM busybox\nADD --checksum=sha256:%064d http://127.0.0.1:%s/remote.txt /m\n' 0 "$port" > "$ctx/Dockerfile"
err=$("$SLIPWAY" build --context "$ctx" --build-context busybox=oci-layout://"$BASE":latest --state-dir "$TEST_TMP/state" --no-push 2>&1) \
  && fail "a wrong checksum must fail the build"
expect_contains "$err" "checksum mismatch"
pass
