FROM alpine
COPY --from=builder --chown=app:app --chmod=0755 --link /out/app /usr/local/bin/app
COPY --parents ./services/*/config.yaml /etc/services/
COPY --exclude=*.md --exclude=docs/ . /src/
COPY --link=false a.txt b.txt /dest/
COPY --chown=1000 ["file with spaces.txt", "/opt/dest dir/"]
COPY --from=nginx:alpine /etc/nginx/nginx.conf /etc/nginx/
