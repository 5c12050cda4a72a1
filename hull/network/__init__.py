"""Container networking: bridges, address management, veth links, NAT rules, published
ports and the embedded DNS resolver.

Modules here do one job each and import nothing heavy at package import time; the engine's
:class:`hull.engine.networks.NetworkService` ties them to the database and to containers.
"""
