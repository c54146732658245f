FROM alpine
# comment ending in backslash \
RUN echo hi
