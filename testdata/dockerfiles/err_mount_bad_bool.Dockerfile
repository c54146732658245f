FROM alpine
RUN --mount=type=bind,target=/x,ro=maybe true
