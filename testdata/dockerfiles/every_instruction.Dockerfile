FROM debian:bookworm-slim AS base
MAINTAINER Jane Doe <jane@example.com>
LABEL org.opencontainers.image.title=demo
ENV APP_HOME=/srv/app
ARG BUILD_ID
WORKDIR /srv/app
ADD https://example.com/app.tar.gz /tmp/
COPY . .
RUN ./configure && make
USER 1000:1000
EXPOSE 8080/tcp 9090/udp
VOLUME /data
STOPSIGNAL SIGQUIT
HEALTHCHECK CMD curl -f http://localhost:8080/healthz || exit 1
SHELL ["/bin/bash", "-c"]
ONBUILD RUN echo triggered
ENTRYPOINT ["/srv/app/bin/server"]
CMD ["--port", "8080"]
