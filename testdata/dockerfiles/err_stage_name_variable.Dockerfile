ARG NAME=build
FROM alpine AS ${NAME}
