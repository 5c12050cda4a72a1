# a plain comment first
# escape=`
FROM scratch
RUN echo done \
  more
