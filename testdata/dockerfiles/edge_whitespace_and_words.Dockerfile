FROM   alpine   AS   build  
RUN echo hi   
WORKDIR /app 	
USER  app 
ENV A	value with	tab
VOLUME "/data"
LABEL desc="line one \
 line two"
