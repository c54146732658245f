FROM alpine AS a
FROM a
RUN true
