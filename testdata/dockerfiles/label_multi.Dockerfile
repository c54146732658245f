FROM alpine
LABEL org.opencontainers.image.title="My App" \
      org.opencontainers.image.version="1.0.0" \
      maintainer=ops@example.com
LABEL "com.example.vendor"="ACME Inc"
LABEL description "legacy form value"
