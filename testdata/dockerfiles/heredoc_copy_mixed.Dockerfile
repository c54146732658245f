FROM alpine
COPY <<EOF file.txt /dst/
hello
EOF
