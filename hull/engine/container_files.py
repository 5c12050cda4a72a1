"""The per-container /etc/hosts, /etc/hostname and /etc/resolv.conf, as Docker writes them.

They live in ``<root>/containers/<id>/`` and are bind-mounted over the image's files, so a
container sees its own name and resolvers without its image being changed.
"""

from __future__ import annotations

import os

DEFAULT_HOSTS = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
)
FALLBACK_NAMESERVERS = ("8.8.8.8", "8.8.4.4")


def write_small(path: str, text: str) -> None:
    """Replace a small file whole: a reader sees the old or the new text, never a mix."""
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def read_or_empty(path: str) -> str:
    """A small text file's content; empty when it cannot be read."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def hosts_content(hostname: str, network_mode: str, extra_hosts: list[str]) -> str:
    text = (read_or_empty("/etc/hosts") or DEFAULT_HOSTS) if network_mode == "host" else DEFAULT_HOSTS
    for entry in extra_hosts:
        host, _, address = entry.partition(":")
        text += f"{address}\t{host}\n"
    return text


def resolv_content(network_mode: str, dns: list[str], search: list[str]) -> str:
    """The host's resolv.conf; loopback resolvers are useless in a private network
    namespace, so they are dropped (Docker falls back to public resolvers then)."""
    host = read_or_empty("/etc/resolv.conf")
    lines = []
    servers = 0
    for line in host.splitlines():
        fields = line.split()
        if fields and fields[0] == "nameserver":
            if dns:
                continue
            if network_mode != "host" and len(fields) > 1 and (
                    fields[1].startswith("127.") or fields[1] == "::1"):
                continue
            servers += 1
        if fields and fields[0] == "search" and search:
            continue
        lines.append(line)
    if search:
        lines.append("search " + " ".join(search))
    for server in dns:
        lines.append(f"nameserver {server}")
        servers += 1
    if not servers:
        lines += [f"nameserver {s}" for s in FALLBACK_NAMESERVERS]
    return "\n".join(lines).strip() + "\n"


def write_files(directory: str, hostname: str, network_mode: str, extra_hosts: list[str],
                dns: list[str], search: list[str]) -> dict[str, str]:
    """Write the three files; return {"HostnamePath", "HostsPath", "ResolvConfPath"}."""
    os.makedirs(directory, mode=0o710, exist_ok=True)
    paths = {"HostnamePath": os.path.join(directory, "hostname"),
             "HostsPath": os.path.join(directory, "hosts"),
             "ResolvConfPath": os.path.join(directory, "resolv.conf")}
    contents = {"HostnamePath": hostname + "\n",
                "HostsPath": hosts_content(hostname, network_mode, extra_hosts),
                "ResolvConfPath": resolv_content(network_mode, dns, search)}
    for key, path in paths.items():
        with open(path, "w") as f:
            f.write(contents[key])
        os.chmod(path, 0o644)
    return paths
