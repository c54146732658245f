ARG VERSION=1.0
# no stage follows
