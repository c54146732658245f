FROM alpine
EXPOSE 80 443/tcp 53/udp
VOLUME ["/data", "/var/log/app"]
VOLUME /var/lib/mysql /var/cache
