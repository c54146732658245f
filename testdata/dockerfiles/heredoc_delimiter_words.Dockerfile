FROM alpine
RUN 3<<FD3
FD3
RUN <<na'me'
echo one
name
RUN <<na\'me
echo two
na'me
RUN <<'two words'
echo three
two words
RUN <<$DELIM
$DELIM
COPY <<A <<B /dest/
B
A
A
B
COPY <<conf.txt /etc/
k=v
conf.txt
