# Shared helpers for the shell integration tests. Each test sources this,
# asserts, and ends with `pass`.
set -euo pipefail
: "${SLIPWAY:?SLIPWAY must name the slipway binary}"
: "${SLIPWAY_SOURCE_DIR:?}"
TEST_NAME=$(basename "$0" .sh)
TEST_TMP=$(mktemp -d "/tmp/slipway-${TEST_NAME}.XXXXXX")
chmod 755 "$TEST_TMP"
cleanup_hooks=()
on_exit() { local h; for h in "${cleanup_hooks[@]}"; do eval "$h" || true; done; rm -rf "$TEST_TMP"; }
trap on_exit EXIT
at_exit() { cleanup_hooks+=("$1"); }

fail() { echo "FAIL [$TEST_NAME]: $*" >&2; exit 1; }
pass() { echo "ok [$TEST_NAME]"; exit 0; }
expect_contains() { [[ "$1" == *"$2"* ]] || fail "expected to contain '$2', got: $1"; }
expect_match() { [[ "$1" =~ $2 ]] || fail "expected to match '$2', got: $1"; }
# Ends a test that needs root as skipped (not failed) for anyone else.
skip_unless_root() {  # WHY
  [ "$(id -u)" -eq 0 ] || { echo "skipped [$TEST_NAME]: needs root ($1)"; exit 0; }
}
# A copy of slipway that test users can run: the build tree may sit under a
# home directory they cannot enter.
user_binary() {
  [ -x "$TEST_TMP/slipway" ] || { cp "$SLIPWAY" "$TEST_TMP/slipway" && chmod 755 "$TEST_TMP/slipway"; }
  echo "$TEST_TMP/slipway"
}
expect_exit() {
  local want=$1; shift
  local got=0
  "$@" >/dev/null 2>&1 || got=$?
  [ "$got" -eq "$want" ] || fail "expected exit $want from '$*', got $got"
}

# --- image helpers -----------------------------------------------------------
# A busybox base image as an OCI layout, made once per test.
base_image() {
  if [ ! -f "$TEST_TMP/base/index.json" ]; then
    "$SLIPWAY_SOURCE_DIR/tests/make_base_image.sh" "$TEST_TMP/base" latest >/dev/null
    chmod -R a+rX "$TEST_TMP/base"
  fi
  echo "$TEST_TMP/base"
}
# Unpacks an OCI layout's image with umoci (owners kept: run as root).
unpack_image() {  # LAYOUT TAG DEST
  rm -rf "$3"
  umoci unpack --image "$1:$2" "$3" >/dev/null || fail "umoci could not unpack $1:$2"
}
# The raw config JSON of an OCI layout's image (skopeo --config drops the
# Docker-only fields such as Healthcheck): the manifest via skopeo, the blob
# read directly.
image_config() {
  local d
  d=$(skopeo inspect --raw "oci:$1:$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["digest"])')
  cat "$1/blobs/sha256/${d#sha256:}"
}
# Every layer blob of an image, decompressed and concatenated.
all_layers_text() {  # LAYOUT TAG
  local d
  for d in $(skopeo inspect "oci:$1:$2" | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["Layers"]))'); do
    zcat -f "$1/blobs/sha256/${d#sha256:}"
  done
}
json_get() {  # JSON EXPR (python expression on `j`)
  python3 -c "import json,sys; j=json.loads(sys.argv[1]); print($2)" "$1"
}

# --- test users ----------------------------------------------------------------
# A system user for rootless tests, with (yes) or without (no) a subordinate
# id range. Tests run in parallel: /etc/subuid edits hold a lock, and each
# test uses its own user names.
test_user() {  # NAME yes|no
  id "$1" >/dev/null 2>&1 || useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$1" 2>/dev/null \
    || id "$1" >/dev/null 2>&1 || fail "cannot create user $1"
  local base=$((300000 + ($(id -u "$1") % 500) * 65536))
  (
    flock 9
    touch /etc/subuid /etc/subgid  # absent on some minimal machines
    sed -i "/^$1:/d" /etc/subuid /etc/subgid
    if [ "$2" = yes ]; then
      echo "$1:$base:65536" >> /etc/subuid
      echo "$1:$base:65536" >> /etc/subgid
    fi
  ) 9>/tmp/slipway-test-subid.lock
}
