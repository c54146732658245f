#!/usr/bin/env bash
# Makes a small base image offline, as an OCI image layout, from Debian's
# busybox-static: a root filesystem with busybox and its applet links,
# /etc/passwd and /etc/group with a few users, /tmp, and /root.
#
#   tests/make_base_image.sh OUT_DIR [TAG] [BUSYBOX_BINARY] [ARCH]
#   ROOTFS=DIR tests/make_base_image.sh OUT_DIR [TAG]   (any root tree, e.g. debootstrap's)
#
# OUT_DIR becomes an OCI layout holding TAG (default "latest") for
# linux/ARCH (default: the host's). The layer is built with GNU tar and gzip
# so it is independent of Slipway's own code: tests use it as ground truth.
set -euo pipefail
out=${1:?usage: make_base_image.sh OUT_DIR [TAG] [BUSYBOX] [ARCH]}
tag=${2:-latest}
busybox=${3:-/bin/busybox}
arch=${4:-}
if [ -z "$arch" ]; then
  case "$(uname -m)" in
    x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; armv7l) arch=arm ;; i686) arch=386 ;; *) arch=$(uname -m) ;;
  esac
fi
variant=""
[ "$arch" = arm64 ] && variant=v8
[ "$arch" = arm ] && variant=v7

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
if [ -n "${ROOTFS:-}" ]; then
  root=$ROOTFS
else
mkdir -p "$root"/{bin,etc,tmp,root,home/app,var/www,usr/bin,sbin}
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
cp "$busybox" "$root/bin/busybox"
chmod 755 "$root/bin/busybox"
# Applet links. An arm64 busybox cannot run here to list its applets, so the
# list comes from the host's busybox (same Debian version).
for a in $(/bin/busybox --list); do
  [ "$a" = busybox ] && continue
  ln -sf busybox "$root/bin/$a"
done
cat > "$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
app:x:1000:1000:app:/home/app:/bin/sh
www:x:33:33:www:/var/www:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$root/etc/group" <<'G'
root:x:0:
daemon:x:1:
www:x:33:app
app:x:1000:
staff:x:50:app
nogroup:x:65534:
G
echo "busybox" > "$root/etc/hostname"
chown -R 1000:1000 "$root/home/app" 2>/dev/null || true
fi

layer=$work/layer.tar
owner_flags=(--owner=0 --group=0)
[ -n "${ROOTFS:-}" ] && owner_flags=()  # a real tree keeps its owners
tar --sort=name "${owner_flags[@]}" --numeric-owner --mtime=@0 --format=pax \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
  -C "$root" -cf "$layer" .
diff_id=$(sha256sum "$layer" | cut -d' ' -f1)
gzip -n -6 "$layer"
layer_digest=$(sha256sum "$layer.gz" | cut -d' ' -f1)
layer_size=$(stat -c %s "$layer.gz")

mkdir -p "$out/blobs/sha256"
mv "$layer.gz" "$out/blobs/sha256/$layer_digest"
platform_variant=""
[ -n "$variant" ] && platform_variant=",\"variant\":\"$variant\""
config='{"architecture":"'$arch'"'$platform_variant',"os":"linux","created":"1970-01-01T00:00:00Z","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:'$diff_id'"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"tests/make_base_image.sh: busybox-static"}]}'
printf '%s' "$config" > "$work/config"
config_digest=$(sha256sum "$work/config" | cut -d' ' -f1)
mv "$work/config" "$out/blobs/sha256/$config_digest"
manifest='{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:'$config_digest'","size":'${#config}'},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:'$layer_digest'","size":'$layer_size'}]}'
printf '%s' "$manifest" > "$work/manifest"
manifest_digest=$(sha256sum "$work/manifest" | cut -d' ' -f1)
mv "$work/manifest" "$out/blobs/sha256/$manifest_digest"
printf '{"imageLayoutVersion":"1.0.0"}' > "$out/oci-layout"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"%s"},"platform":{"architecture":"%s","os":"linux"%s}}]}' \
  "$manifest_digest" "${#manifest}" "$tag" "$arch" "$platform_variant" > "$out/index.json"
echo "$out:$tag sha256:$manifest_digest"
