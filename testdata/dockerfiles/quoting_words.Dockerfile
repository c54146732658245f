FROM alpine
ARG V="1 2" W='a b'
ENV A="say \"hi\"" B=x\"y
LABEL a=b=c "key with space"=v
EXPOSE 80 \
    443
