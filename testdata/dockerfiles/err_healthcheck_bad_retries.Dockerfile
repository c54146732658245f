FROM alpine
HEALTHCHECK --retries=abc CMD true
