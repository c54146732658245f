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
expect_exit() {
  local want=$1; shift
  local got=0
  "$@" >/dev/null 2>&1 || got=$?
  [ "$got" -eq "$want" ] || fail "expected exit $want from '$*', got $got"
}
