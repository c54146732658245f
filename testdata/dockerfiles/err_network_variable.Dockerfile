FROM alpine
ARG NET=none
RUN --network=$NET true
