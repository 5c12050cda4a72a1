"""A client of the distribution API (Docker Registry HTTP API v2 / OCI distribution).

``http`` moves bytes over pooled connections, ``endpoint`` decides between HTTPS
and plain HTTP, ``session`` adds authentication and error handling, and
``distribution`` speaks the API (manifests, blobs, uploads, tags).
"""
