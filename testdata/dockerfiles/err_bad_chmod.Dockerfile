FROM alpine
COPY --chmod=0999 a /b
