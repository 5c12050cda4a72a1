# escape=`
FROM busybox
RUN echo one `
  two
ENV A=1 B=2
RUN <<EOF
echo crlf
EOF
CMD ["echo", "done"]
