FROM alpine
CMD [nginx, -g]
ENTRYPOINT ['sh', '-c']
RUN ["echo", "hi"] && echo more
CMD ["unterminated"
