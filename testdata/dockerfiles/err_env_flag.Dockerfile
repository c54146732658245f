FROM alpine
ENV --force A=1
