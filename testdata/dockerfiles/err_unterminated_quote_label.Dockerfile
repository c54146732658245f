FROM alpine
LABEL description='it is broken
