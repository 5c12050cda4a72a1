FROM busybox
CMD ["echo", "valid json"]
CMD [ "spaced" ,  "array" ]
CMD ['single', 'quotes']
CMD ["unterminated
CMD ["echo", "json \"inside\" string"]
CMD ["echo", "[\"nested\"]"]
CMD []
ENTRYPOINT []
RUN [ "sh", "-c", "echo ${X}" ]
CMD [bare, words]
CMD ["trailing", "garbage"] x
CMD ["unicode \u00e9", "tab\tinside"]
VOLUME ["/a", "/b"]
VOLUME [/not/json]
SHELL ["/bin/bash", "-c"]
