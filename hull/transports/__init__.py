"""Image transports: every way an image moves is one copy between a source and a destination."""
