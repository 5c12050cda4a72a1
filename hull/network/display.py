"""The PORTS column of ``ps``, as Docker prints it (``0.0.0.0:8000-8002->80-82/tcp``)."""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any



def ports_column(ports: dict[str, Any] | None) -> str:
    """From NetworkSettings.Ports: published ports as ``IP:HOST->PORT/PROTO``, exposed ones
    as ``PORT/PROTO``; consecutive runs collapse into ranges."""
    items: list[tuple[str, int, int, str]] = []  # (ip, host port or 0, port, proto)
    for key, bindings in (ports or {}).items():
        port_text, _, proto = key.partition("/")
        try:
            port = int(port_text)
        except ValueError:
            continue
        proto = proto or "tcp"
        if not bindings:
            items.append(("", 0, port, proto))
        for b in bindings or []:
            try:
                items.append((b.get("HostIp") or "0.0.0.0", int(b.get("HostPort") or 0), port,
                              proto))
            except ValueError:
                continue
    items.sort(key=lambda i: (i[3], i[0], i[2], i[1]))
    groups: list[list[tuple[str, int, int, str]]] = []
    for item in items:
        last = groups[-1][-1] if groups else None
        if (last is not None and last[0] == item[0] and last[3] == item[3]
                and item[2] == last[2] + 1 and (item[1] == last[1] + 1 if item[1] else
                                                not last[1])):
            groups[-1].append(item)
        else:
            groups.append([item])
    out = []
    for g in groups:
        ip, host, port, proto = g[0]
        ports_text = str(port) if len(g) == 1 else f"{port}-{g[-1][2]}"
        if host:
            hosts_text = str(host) if len(g) == 1 else f"{host}-{g[-1][1]}"
            out.append(f"{ip}:{hosts_text}->{ports_text}/{proto}")
        else:
            out.append(f"{ports_text}/{proto}")
    return ", ".join(out)
