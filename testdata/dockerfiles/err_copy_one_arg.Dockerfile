FROM alpine
COPY app.tar
