FROM alpine
RUN --mount=type=bind,target=/x,uid=1000 true
