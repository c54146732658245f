# Build the thing.

# ARG comes first
ARG V=1

FROM alpine
    # indented comment

RUN echo $V


# trailing comment
