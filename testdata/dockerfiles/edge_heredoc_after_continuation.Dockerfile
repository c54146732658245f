FROM alpine
RUN cat \
  <<EOF
hi
EOF
RUN true
