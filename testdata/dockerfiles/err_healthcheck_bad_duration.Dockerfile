FROM alpine
HEALTHCHECK --interval=5s --timeout=abc CMD true
