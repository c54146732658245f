#!/usr/bin/env bash
# The CLI against a registry with Basic auth: credentials come from
# $DOCKER_CONFIG/config.json, a missing login fails with a hint, and a
# trace-level run (every HTTP header curl sends) never shows the secret.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_fixture/registry.sh"

password="Cli-Secret-$RANDOM-pw"
start_registry ci-user "$password"
export DOCKER_CONFIG="$TEST_TMP/docker"
unset REGISTRY_AUTH_FILE XDG_RUNTIME_DIR
mkdir -p "$DOCKER_CONFIG"
echo '{}' >"$DOCKER_CONFIG/config.json"

make_oci_image "$TEST_TMP/img" amd64
skopeo --insecure-policy copy -q --dest-tls-verify=false --dest-creds "ci-user:$password" \
  "oci:$TEST_TMP/img:latest" "docker://$REGISTRY/private/app:v1"

err=$("$SLIPWAY" manifest inspect --insecure-registry "$REGISTRY" "$REGISTRY/private/app:v1" 2>&1 >/dev/null) &&
  fail "anonymous inspect succeeded"
expect_contains "$err" "401"
expect_contains "$err" "no credentials"
expect_contains "$err" "$REGISTRY/private/app"

auth=$(printf 'ci-user:%s' "$password" | base64 -w0)
printf '{"auths":{"%s":{"auth":"%s"}}}' "$REGISTRY" "$auth" >"$DOCKER_CONFIG/config.json"
"$SLIPWAY" manifest inspect -v trace --insecure-registry "$REGISTRY" "$REGISTRY/private/app:v1" \
  >"$TEST_TMP/out" 2>"$TEST_TMP/log" || fail "inspect with credentials failed: $(cat "$TEST_TMP/log")"
expect_contains "$(cat "$TEST_TMP/out")" "MediaType:  application/vnd.oci.image.manifest.v1+json"
log=$(cat "$TEST_TMP/log" "$TEST_TMP/out")
expect_contains "$log" "Authorization: <redacted>"
expect_contains "$log" "user ci-user"
[[ "$log" != *"$password"* ]] || fail "the password appears in the trace output"
[[ "$log" != *"$auth"* ]] || fail "the base64 credentials appear in the trace output"

# A wrong password: exit 1, the hint, still no secret.
printf '{"auths":{"%s":{"username":"ci-user","password":"wrong-%s"}}}' "$REGISTRY" "$password" >"$DOCKER_CONFIG/config.json"
err=$("$SLIPWAY" manifest inspect -v debug --insecure-registry "$REGISTRY" "$REGISTRY/private/app:v1" 2>&1 >/dev/null) &&
  fail "a wrong password was accepted"
expect_contains "$err" "check the credentials"
[[ "$err" != *"$password"* ]] || fail "the password appears in the error"
pass
