FROM alpine
RUN ["echo", "exec form"]
RUN echo shell form
CMD ["nginx", "-g", "daemon off;"]
ENTRYPOINT /bin/sh -c 'exec app'
CMD   [ "a" , "b" ]
