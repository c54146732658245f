FROM alpine
HEALTHCHECK --start-period=30 CMD true
