FROM alpine
RUN --mount=type=cache,target=/x,bogus true
