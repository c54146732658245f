FROM alpine
RUN --mount="type=cache,target=/my dir" ls
COPY --chown='app:app' a /b
