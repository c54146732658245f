FROM debian
HEALTHCHECK --interval=10s --timeout=2s --retries=5 \
  CMD /usr/local/bin/probe --quiet
HEALTHCHECK   CMD   probe   --fast
HEALTHCHECK --timeout=1s CMD ["probe"]
HEALTHCHECK --start-period=0s --interval=5s --timeout=0s --retries=0 CMD ["probe", "-v"]
