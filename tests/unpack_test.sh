#!/usr/bin/env bash
# slipway unpack, as an unprivileged user when possible: the same tree as
# umoci unpack --rootless, from an OCI layout, a docker-archive and a
# registry; a hostile layer cannot write outside DIR.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_fixture/registry.sh"
BASE=$(base_image)
bin=$(user_binary)
run=()
if [ "$(id -u)" -eq 0 ]; then
  test_user slipway-unpack no
  run=(runuser -u slipway-unpack --)
  chmod 777 "$TEST_TMP"
fi
"${run[@]}" "$bin" unpack "oci:$BASE:latest" "$TEST_TMP/ours" 2>"$TEST_TMP/log" || fail "unpack: $(cat "$TEST_TMP/log")"
"${run[@]}" umoci unpack --rootless --image "$BASE:latest" "$TEST_TMP/umoci" >/dev/null 2>&1 || fail "umoci unpack"
listing() { (cd "$1" && find . -printf '%p %y %m %s %l\n' | sort && find . -type f -exec sha256sum {} + | sort); }
diff <(listing "$TEST_TMP/ours") <(listing "$TEST_TMP/umoci/rootfs") >"$TEST_TMP/diff" || fail "unpack differs from umoci: $(head -20 "$TEST_TMP/diff")"

skopeo copy --quiet "oci:$BASE:latest" "docker-archive:$TEST_TMP/base.tar:busybox:latest" || fail "skopeo docker-archive"
chmod 644 "$TEST_TMP/base.tar"
"${run[@]}" "$bin" unpack "docker-archive:$TEST_TMP/base.tar" "$TEST_TMP/from-archive" 2>/dev/null || fail "unpack docker-archive"
diff <(listing "$TEST_TMP/from-archive") <(listing "$TEST_TMP/ours") >/dev/null || fail "docker-archive unpack differs"

start_registry
push_base_image "$REGISTRY/busybox:1"
"${run[@]}" "$bin" unpack --insecure-registry "$REGISTRY" "$REGISTRY/busybox:1" "$TEST_TMP/from-registry" 2>/dev/null \
  || fail "unpack from a registry"
diff <(listing "$TEST_TMP/from-registry") <(listing "$TEST_TMP/ours") >/dev/null || fail "registry unpack differs"

# A layer that tries to leave DIR through a symlink: refused, nothing outside changes.
mkdir -p "$TEST_TMP/evil/blobs/sha256" "$TEST_TMP/outside" "$TEST_TMP/h"
ln -s "$TEST_TMP/outside" "$TEST_TMP/h/escape"
tar -C "$TEST_TMP/h" -cf "$TEST_TMP/l1.tar" escape
printf 'pwned' > "$TEST_TMP/payload"
tar -C "$TEST_TMP" --transform 's|payload|escape/pwned|' -cf "$TEST_TMP/l2.tar" payload
python3 - "$TEST_TMP" <<'PY'
import hashlib, json, os, sys
t = sys.argv[1]; d = os.path.join(t, "evil")
def put(b):
    h = hashlib.sha256(b).hexdigest(); open(os.path.join(d, "blobs/sha256", h), "wb").write(b); return "sha256:" + h, len(b)
layers = []
diffs = []
for n in ("l1.tar", "l2.tar"):
    b = open(os.path.join(t, n), "rb").read(); dg, sz = put(b); layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": dg, "size": sz}); diffs.append(dg)
cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
cd, cs = put(cfg)
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs}, "layers": layers}).encode()
md, ms = put(man)
open(os.path.join(d, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
open(os.path.join(d, "index.json"), "w").write(json.dumps({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms, "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}))
PY
chmod -R a+rX "$TEST_TMP/evil"
"${run[@]}" "$bin" unpack "oci:$TEST_TMP/evil:latest" "$TEST_TMP/evil-out" >/dev/null 2>&1 && fail "a layer writing through a symlink must fail"
[ -z "$(ls -A "$TEST_TMP/outside")" ] || fail "the hostile layer wrote outside DIR"
pass
