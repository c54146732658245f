FROM alpine
RUN echo one \

    && echo two
RUN echo three
