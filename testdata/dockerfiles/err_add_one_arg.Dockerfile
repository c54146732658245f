FROM alpine
ADD --chown=1 app.tar
