FROM debian:bookworm-slim

LABEL maintainer="Platform Team <platform@example.com>"

ARG DEBIAN_FRONTEND=noninteractive

RUN set -eux; \
	apt-get update; \
	apt-get install -y --no-install-recommends \
		ca-certificates \
		curl \
		gnupg \
		# needed for the healthcheck
		netcat-openbsd \
		tzdata \
	; \
	rm -rf /var/lib/apt/lists/*

ENV TZ=Etc/UTC LANG=C.UTF-8

COPY docker-entrypoint.sh /usr/local/bin/
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["bash"]
