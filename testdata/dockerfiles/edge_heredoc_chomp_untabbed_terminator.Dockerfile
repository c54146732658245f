FROM alpine
RUN <<-EOF
		indented
EOF
