FROM alpine
RUN <<-EOT
	echo one
		echo two
  not stripped
	EOT
RUN true
