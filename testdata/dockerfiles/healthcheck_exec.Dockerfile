FROM alpine
HEALTHCHECK --interval=1m30s CMD ["wget", "-q", "-O-", "http://localhost:8080/health"]
