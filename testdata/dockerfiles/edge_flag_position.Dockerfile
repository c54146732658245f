FROM alpine
RUN echo --mount=type=cache,target=/x
COPY a b --chown=1
RUN	echo tab separated
RUN echo \
RUN echo joined
