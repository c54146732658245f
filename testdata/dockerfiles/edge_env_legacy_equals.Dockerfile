FROM alpine
ENV A b=c d
LABEL empty=""
