FROM busybox
RUN echo one \
    # a comment inside the continuation is skipped
    two \

    three
RUN echo "# not a comment" && echo 'a # b' # trailing text is not a comment
  # an indented comment line
	RUN	echo	tabbed  \
	 	continued
RUN echo \\
RUN echo "escaped backslash at end"\\
RUN echo end-of-file-continuation \
