FROM alpine
RUN <<-"EOT"
	echo $A
	EOT
RUN <<E"O"F
echo $B
EOF
ADD <<EOF /add.txt
added
EOF
