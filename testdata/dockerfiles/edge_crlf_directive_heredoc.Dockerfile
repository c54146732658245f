# escape=`
FROM alpine
RUN echo a `
  b
RUN <<EOF
echo hi
EOF
RUN true
