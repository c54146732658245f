FROM alpine
EXPOSE --protocol=tcp 80
