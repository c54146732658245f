FROM alpine
RUN --mount=type=cache,target=/a \
    --mount=type=nfs,target=/b true
