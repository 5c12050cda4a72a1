"""/etc/hosts and /etc/resolv.conf of a container once its networks are attached.

The container engine writes the files at create time (no addresses are known then); on
start they are rewritten with the container's own addresses, its ``--link`` entries and, on
user-defined networks, the embedded resolver at 127.0.0.11 as Docker does.
"""

from __future__ import annotations

import os

EMBEDDED_DNS = "127.0.0.11"


def hosts_text(base: str, hostname: str, own: list[str],
               links: list[tuple[str, str, str, str]]) -> str:
    """``base`` plus ``IP hostname`` for the container's first address and one line per
    link: (address, alias, short id, name)."""
    lines = [base.rstrip("\n")] if base else []
    for address, alias, short, name in links:
        names = [alias] + [n for n in (short, name) if n and n != alias]
        lines.append(f"{address}\t" + " ".join(names))
    if own:
        lines.append(f"{own[0]}\t{hostname}")
    return "\n".join(lines) + "\n"


def embedded_resolv(host_resolv: str, search: list[str], options: list[str]) -> str:
    """Docker's resolv.conf on user-defined networks: the host's search domains (unless
    ``--dns-search``), the embedded server, ``ndots:0``."""
    lines = []
    if search:
        lines.append("search " + " ".join(search))
    else:
        for line in host_resolv.splitlines():
            fields = line.split()
            if fields and fields[0] in ("search", "domain"):
                lines.append(line.strip())
    lines.append(f"nameserver {EMBEDDED_DNS}")
    opts = ["ndots:0", *[o for o in options if not o.startswith("ndots:")]]
    lines.append("options " + " ".join(opts))
    return "\n".join(lines) + "\n"


def write(path: str, text: str) -> None:
    """Rewrite in place: the file is bind-mounted into a running container by inode."""
    if not path:
        return
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
