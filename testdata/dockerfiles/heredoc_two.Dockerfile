FROM alpine
COPY <<FILE1 <<FILE2 /etc/app/
first
FILE1
second
FILE2
RUN cat <<A > /a && cat <<B > /b
alpha
A
beta
B
