FROM alpine
COPY <<EOF /empty
EOF
