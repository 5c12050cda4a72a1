FROM busybox
HEALTHCHECK CMD curl -f http://localhost/
HEALTHCHECK --interval=5m --timeout=3s CMD ["curl", "-f", "http://localhost/"]
HEALTHCHECK --retries=0 --start-period=0 cmd true
HEALTHCHECK --interval=1h2m3.5s --retries=65 CMD ["true"]
