FROM alpine
RUN echo a \
    b
FOO bar
