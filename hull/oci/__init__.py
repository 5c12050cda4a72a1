"""Pure data models of the OCI and Docker formats. No I/O happens in this package."""
