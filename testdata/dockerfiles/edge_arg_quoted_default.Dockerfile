ARG V="1.2 beta" W=x\ y
FROM alpine:$V
