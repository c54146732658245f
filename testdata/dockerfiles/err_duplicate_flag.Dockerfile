FROM alpine
COPY --chown=1:1 --chown=2:2 a /b
