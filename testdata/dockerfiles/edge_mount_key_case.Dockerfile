FROM alpine
RUN --mount=Type=cache,Target=/root/.cache,ro true
