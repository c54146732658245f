ARG UID=1000
FROM alpine
ARG UID
ARG MTYPE=cache
RUN --mount=type=$MTYPE,target=/cache,uid=${UID},gid=$GID,mode=${MODE:-0755},id=c-$UID true
COPY --chmod=$MODE --chown=$UID:$UID a /b
