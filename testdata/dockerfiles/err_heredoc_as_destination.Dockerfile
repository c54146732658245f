FROM alpine
COPY a.txt <<EOF
hello
EOF
