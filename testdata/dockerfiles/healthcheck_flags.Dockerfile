FROM nginx:alpine
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --start-interval=2s --retries=3 \
  CMD curl -fsS http://localhost/ || exit 1
