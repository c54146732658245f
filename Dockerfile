# Slipway's own image: the job image for CI pipelines, like Kaniko's
# gcr.io/kaniko-project/executor. Two targets:
#
#   slipway  minimal: the binary, its shared libraries and loader, CA certs.
#            Entrypoint /slipway/bin/slipway; no shell.
#   debug    the same plus a static busybox in /busybox (like Kaniko's
#            :debug), so GitLab CI can run a `script:` (/busybox/sh) in it.
#
# Build context: NOT the repository. scripts/bundle collects the built binary,
# the libraries `ldd` resolves (at the same paths, with the loader), the CA
# bundle and busybox-static into a bundle directory, and copies this file
# there. Why a bundle and FROM scratch rather than compiling in a builder
# stage: it needs no base image and no network (everything comes from this
# Debian machine), it ships exactly the binary the test suite ran, and it lets
# Slipway build its own image without a compiler toolchain image. So:
#
#   scripts/build && scripts/bundle build/builder/slipway out/bundle
#   slipway build --context out/bundle --target slipway -d REGISTRY/slipway:TAG
#   slipway build --context out/bundle --target debug   -d REGISTRY/slipway:TAG-debug
#
# The image is for the machine's architecture (the libraries are native);
# bundle and build on an arm64 machine for arm64, then `slipway manifest
# create` (see examples/gitlab-ci/).
#
# Layout, mirroring Kaniko's /kaniko: Slipway's files live under /slipway
# (/slipway/bin/slipway, /slipway/.docker for registry credentials). Unlike
# Kaniko, Slipway never unpacks the image it builds over its own root (builds
# happen in --state-dir), so the libraries and CA bundle sit at the standard
# paths where the loader and libcurl look for them, with no LD_LIBRARY_PATH.

FROM scratch AS slipway
COPY rootfs/ /
# DOCKER_CONFIG: where `docker login`-style credentials are read
# (/slipway/.docker/config.json), as /kaniko/.docker is for Kaniko.
# SSL_CERT_FILE/SSL_CERT_DIR: libcurl finds /etc/ssl/certs by its built-in
# default; the variables tell OpenSSL and anything else run from the image.
# State: root's default --state-dir is /var/lib/slipway (created on first
# use); a non-root pod has no writable $HOME here, so it passes --state-dir
# or SLIPWAY_STATE_DIR (see examples/kubernetes/).
ENV PATH=/usr/local/bin:/slipway/bin \
    DOCKER_CONFIG=/slipway/.docker \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    SSL_CERT_DIR=/etc/ssl/certs
WORKDIR /workspace
ENTRYPOINT ["/slipway/bin/slipway"]

FROM slipway AS debug
COPY busybox/ /busybox/
# /busybox/sh is on GitLab Runner's list of shells it probes for, as for
# Kaniko's :debug image. Jobs set `entrypoint: [""]` to get a shell.
ENV PATH=/usr/local/bin:/slipway/bin:/busybox
