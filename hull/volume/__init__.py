"""Volumes: data that outlives containers.

``names`` and ``model`` describe a volume (Docker's local driver: a directory
``<root>/volumes/<name>/_data``, optionally a filesystem mounted there); ``store`` keeps
them in the database; ``specs`` parses every way a user asks for a mount (``-v``,
``--mount``, ``--tmpfs``, ``--volumes-from``, image ``VOLUME``); ``plan`` turns a
container's requests into mount points; ``ocimounts`` writes them as runtime-spec mounts;
``copyup`` seeds a new volume from the image; ``active`` mounts and unmounts volumes with
driver options while containers use them.

Nothing here is imported by the CLI at start-up; the engine loads it on first use.
"""
