# syntax=docker/dockerfile:1
FROM alpine
RUN <<EOF
apk add --no-cache curl
echo "$HOME"
EOF
RUN <<-EOT
	echo chomped
		echo deeper
	EOT
RUN <<"EOF" cat > /quoted.txt
no $expansion here
EOF
RUN <<'EOF'
#!/usr/bin/env python3
print("shebang script")
EOF
RUN cat <<FILE1 <<-FILE2 > /both
first
FILE1
	second
	FILE2
COPY <<EOF /etc/motd
Hello from ${NAME}
EOF
COPY --chmod=755 <<"SCRIPT" <<SECOND /usr/local/bin/
#!/bin/sh
echo "$@"
SCRIPT
two
SECOND
RUN ["echo", "<<EOF"]
RUN 3<<EOF cat <&3
fd three
EOF
ONBUILD RUN <<EOF
echo on build
EOF
