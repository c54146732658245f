FROM alpine
RUN echo "hello" # this is not a comment
   # indented comment line
   RUN echo indented
