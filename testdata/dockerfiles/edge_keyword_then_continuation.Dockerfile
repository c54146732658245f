FROM alpine
RUN \
  echo hi
COPY --from=0 \
  /a /b
