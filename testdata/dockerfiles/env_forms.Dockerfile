FROM alpine
ENV A=1 B="two words" C=three\ four
ENV PATH /usr/local/bin:$PATH
ENV MSG hello   world
ENV EMPTY= D='single'
ENV E=1 \
    F=2
