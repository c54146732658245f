FROM alpine
RUN <<'EOF'
echo $HOME
EOF
RUN <<"END"
echo ${PATH}
END
COPY <<EOF /expanded.txt
home=$HOME
EOF
