FROM alpine
MAINTAINER Jane Doe <jane@example.com>
USER app:app
WORKDIR /home/app/my dir
STOPSIGNAL SIGRTMIN+3
