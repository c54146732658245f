FROM alpine
RUN <<EOF
# not a Dockerfile comment
apk add --no-cache \
    curl

echo "blank line above"
EOF
