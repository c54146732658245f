FROM alpine
ONBUILD RUN <<EOF
echo hi
EOF
RUN true
