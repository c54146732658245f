FROM alpine
RUN --Network=none true
