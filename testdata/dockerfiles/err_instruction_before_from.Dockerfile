# comment
LABEL a=b
FROM alpine
