FROM alpine
RUN <<  EOF
echo spaced
EOF
RUN true
