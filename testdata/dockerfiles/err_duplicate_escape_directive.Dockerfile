# escape=\
# check=error=true
# escape=`
FROM alpine
