FROM alpine
ENV A
