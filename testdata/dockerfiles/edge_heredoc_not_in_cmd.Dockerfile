FROM alpine
CMD cat <<EOF
RUN true
