FROM alpine
ENV A="abc
