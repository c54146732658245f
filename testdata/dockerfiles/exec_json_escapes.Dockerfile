FROM alpine
RUN ["sh", "-c", "echo \"quoted\" caf\u00e9 tab\there"]
CMD ["printf", "a\\b\n"]
