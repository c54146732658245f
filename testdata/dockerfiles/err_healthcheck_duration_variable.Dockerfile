FROM alpine
ARG I=30s
HEALTHCHECK --interval=$I CMD true
