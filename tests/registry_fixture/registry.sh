# Shell fixture for integration tests (source after tests/lib.sh):
#   start_registry [USER PASSWORD]
#                           plain-HTTP docker-registry on 127.0.0.1:<free port>,
#                           with htpasswd Basic auth when given a user;
#                           sets REGISTRY=127.0.0.1:PORT, stopped at exit;
#                           REGISTRY_DIR (default $TEST_TMP/registry) holds
#                           its config, storage and log, so a test can run two;
#                           REGISTRY_ACCESS_LOG=yes keeps one line per request
#                           in REGISTRY_DIR/access.log; REGISTRY_PID is the
#                           server's pid. Needs fail and at_exit (tests/lib.sh).
#   push_base_image REF     the busybox test base (tests/lib.sh base_image),
#                           pushed to REF (a plain-HTTP registry) by skopeo.
#   make_oci_image DIR ARCH [VARIANT]
#                           a one-layer single-platform OCI layout at DIR
#                           (tag "latest"), built with tar, gzip and sha256sum.

# A port nobody listens on (bash's /dev/tcp connect fails), picked at random
# below the kernel's ephemeral range.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

start_registry() {
  local dir="${REGISTRY_DIR:-$TEST_TMP/registry}" port auth=""
  port=$(free_port)
  mkdir -p "$dir/storage"
  if [ $# -eq 2 ]; then
    # htpasswd Basic auth for user $1, password $2 (bcrypt, as distribution needs).
    htpasswd -Bbc "$dir/htpasswd" "$1" "$2" 2>/dev/null || fail "htpasswd (apache2-utils) is needed"
    auth="auth:
  htpasswd:
    realm: slipway-test
    path: $dir/htpasswd"
  fi
  cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: $([ "${REGISTRY_ACCESS_LOG:-}" = yes ] && echo false || echo true)
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
$auth
YAML
  # The access log is docker-registry's stdout; errors go to its stderr.
  if [ "${REGISTRY_ACCESS_LOG:-}" = yes ]; then
    docker-registry serve "$dir/config.yml" >"$dir/access.log" 2>"$dir/log" &
  else
    docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
  fi
  local pid=$!
  REGISTRY_PID=$pid
  at_exit "kill $pid; wait $pid 2>/dev/null"
  REGISTRY=127.0.0.1:$port
  local i
  for i in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || fail "docker-registry exited: $(cat "$dir/log")"
    sleep 0.05
  done
  fail "docker-registry did not start on $REGISTRY: $(cat "$dir/log")"
}

push_base_image() {
  skopeo copy --quiet --dest-tls-verify=false "oci:$(base_image):latest" "docker://$1" ||
    fail "skopeo could not push the base image to $1"
}

sha256_hex() { sha256sum "$1" | cut -d' ' -f1; }

make_oci_image() {
  local dir=$1 arch=$2 variant=${3:-}
  local work="$dir.work"
  mkdir -p "$dir/blobs/sha256" "$work/root/etc"
  echo "hello from $arch$variant" >"$work/root/etc/hello.txt"
  tar --owner=0 --group=0 --mtime=@0 -C "$work/root" -cf "$work/layer.tar" etc
  gzip -n -c "$work/layer.tar" >"$work/layer.tar.gz"
  local diff_id layer layer_size config config_size manifest manifest_size variant_json=""
  diff_id=$(sha256_hex "$work/layer.tar")
  layer=$(sha256_hex "$work/layer.tar.gz")
  layer_size=$(stat -c %s "$work/layer.tar.gz")
  cp "$work/layer.tar.gz" "$dir/blobs/sha256/$layer"
  [ -n "$variant" ] && variant_json="\"variant\":\"$variant\","
  printf '{"architecture":"%s",%s"os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$arch" "$variant_json" "$diff_id" >"$work/config.json"
  config=$(sha256_hex "$work/config.json")
  config_size=$(stat -c %s "$work/config.json")
  cp "$work/config.json" "$dir/blobs/sha256/$config"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
    "$config" "$config_size" "$layer" "$layer_size" >"$work/manifest.json"
  manifest=$(sha256_hex "$work/manifest.json")
  manifest_size=$(stat -c %s "$work/manifest.json")
  cp "$work/manifest.json" "$dir/blobs/sha256/$manifest"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
    "$manifest" "$manifest_size" >"$dir/index.json"
}
