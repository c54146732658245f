# escape=`
FROM alpine
RUN echo one `
  && echo two `
  # comment `

  && echo three
