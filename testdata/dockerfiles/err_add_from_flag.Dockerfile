FROM alpine
ADD --from=builder a /b
