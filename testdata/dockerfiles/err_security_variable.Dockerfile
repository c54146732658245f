FROM alpine
RUN --security=$SEC true
