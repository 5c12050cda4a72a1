"""The per-container monitor ("shim"): owns a container's stdio, logs and exit.

One shim per running container, detached from the CLI that started it.  It starts the
container through the runtime, writes the json-file log, serves the attach socket, and
when the container's init exits it records the exit in the database and tears the
container's mounts, cgroups and network namespace down.
"""
