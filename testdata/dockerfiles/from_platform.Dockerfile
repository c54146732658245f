FROM --platform=linux/arm64 alpine:3.19 AS arm
FROM --platform=$BUILDPLATFORM tonistiigi/xx AS xx
FROM --platform=$TARGETPLATFORM alpine
COPY --from=xx / /
