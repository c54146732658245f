FROM debian
RUN apt-get update \
# a comment inside the continuation
    && apt-get install -y \
        curl \
    # an indented comment
        git \
    && rm -rf /var/lib/apt/lists/*
