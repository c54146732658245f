FROM alpine
ARG STAGE=builder
RUN --mount=from=$STAGE,target=/x true
