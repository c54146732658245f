FROM alpine
COPY --chown=1 \
  --chmdo=755 a /b
