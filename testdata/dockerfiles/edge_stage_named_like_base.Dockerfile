FROM foo AS foo
RUN true
FROM foo
