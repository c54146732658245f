FROM alpine
RUN --network=none make test
RUN --network=host wget http://localhost:8080/
RUN --network=default apk add curl
RUN --security=insecure cat /proc/self/status
RUN --security=sandbox --network=none true
RUN --mount=type=cache,target=/root/.cache --network=none ["pip", "install", "."]
