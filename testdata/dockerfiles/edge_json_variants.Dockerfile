FROM alpine
CMD ["a\/b", "\u263a"]
CMD {"a": 1}
CMD ["a",]
ENTRYPOINT [ ]
