# syntax=docker/dockerfile:1
FROM ubuntu:24.04
RUN <<EOT bash
  set -ex
  apt-get update
  apt-get install -y vim
EOT
COPY <<-EOT /etc/nginx/conf.d/default.conf
	server {
		listen 80;
	}
	EOT
COPY --chmod=0755 <<'EOF' /usr/local/bin/entrypoint.sh
#!/bin/sh
exec "$@"
EOF
RUN --mount=type=cache,target=/var/cache/apt <<EOF
apt-get install -y curl
EOF
WORKDIR /app
RUN <<EOF cat > config.json && <<EOF2 cat > extra.txt
{"debug": false}
EOF
extra
EOF2
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
