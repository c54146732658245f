# Legacy style: tabs between keyword and arguments.
#
# Usage:
#   docker build -t legacy .
#

FROM	debian:8
LABEL	maintainer	Ops Team <ops@example.org> (@ops)

# Packages
RUN	apt-get update && apt-get install -y \
	build-essential \
	curl \
	git=1:2.1* \
	--no-install-recommends

ENV	GOPATH	/go:/go/src/example.org/app/vendor
ENV	CROSS_TARGETS	\
	linux/386 linux/arm \
	darwin/amd64
RUN	/bin/echo -e 'line1\nline2' > /etc/motd
VOLUME	/var/lib/app
WORKDIR	/go/src/example.org/app
ENTRYPOINT	["hack/entry"]
COPY	.	/go/src/example.org/app
