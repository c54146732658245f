FROM alpine
HEALTHCHECK --interval=5s RUN curl localhost
