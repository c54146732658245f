#!/usr/bin/env bash
# The CLI's contract: version, help, exit codes for usage errors.
source "$(dirname "$0")/lib.sh"

out=$("$SLIPWAY" version)
expect_contains "$out" "slipway "
expect_match "$out" 'platform: linux/(amd64|arm64/v8|arm/v7|ppc64le|s390x|riscv64|386)'

"$SLIPWAY" --help | grep -q "parse" || fail "--help lists no parse command"
"$SLIPWAY" parse --help | grep -q -- "--json" || fail "parse --help lists no --json"

expect_exit 2 "$SLIPWAY" parse --bogus-flag x
expect_exit 2 "$SLIPWAY" nosuchcommand
expect_exit 2 "$SLIPWAY" version extra
err=$("$SLIPWAY" parse --bogus-flag x 2>&1 || true)
[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "usage error is not one line: $err"
expect_contains "$err" "--bogus-flag"
pass
