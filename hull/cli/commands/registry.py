"""``hull registry``: run an OCI distribution registry and collect its garbage."""

from __future__ import annotations

import click


@click.group("registry")
def registry_group() -> None:
    """Run a container image registry (OCI distribution API)."""


@registry_group.command("serve")
@click.option("--addr", default="127.0.0.1:5000", show_default=True, metavar="HOST:PORT",
              help="Address to listen on (port 0 picks a free port).")
@click.option("--root", "root", required=True, metavar="DIR",
              type=click.Path(file_okay=False), help="Directory that stores the registry.")
@click.option("--htpasswd", default="", metavar="FILE",
              help="Require Basic auth against this htpasswd file (bcrypt entries).")
@click.option("--realm", default="hull", show_default=True, help="Realm of the auth challenge.")
@click.option("--read-only", is_flag=True, help="Refuse every write with UNSUPPORTED.")
@click.option("--pull-only", "pull_only", multiple=True, metavar="USER",
              help="An htpasswd user who may pull but not push (repeatable).")
def serve(addr: str, root: str, htpasswd: str, realm: str, read_only: bool,
          pull_only: tuple[str, ...]) -> None:
    """Serve the OCI distribution API from DIR until SIGTERM or Ctrl-C."""
    from hull.registry.server.context import ServerConfig
    from hull.registry.server.serve import serve as run

    if pull_only and not htpasswd:
        raise click.UsageError("--pull-only needs --htpasswd")
    run(ServerConfig(root=root, htpasswd=htpasswd, realm=realm, read_only=read_only,
                     pull_only=pull_only), addr)


@registry_group.command("gc")
@click.option("--root", "root", required=True, metavar="DIR",
              type=click.Path(file_okay=False, exists=True), help="The registry's directory.")
@click.option("--dry-run", is_flag=True, help="Only print what would be removed.")
@click.option("--delete-untagged", is_flag=True,
              help="Also remove manifests no tag leads to (directly or through an index).")
@click.option("--upload-max-age", type=click.FloatRange(min=0), default=168, show_default=True,
              metavar="HOURS", help="Also remove upload sessions idle for longer than this.")
def gc(root: str, dry_run: bool, delete_untagged: bool, upload_max_age: float) -> None:
    """Remove blobs no manifest references. Run it while nothing pushes (e.g. --read-only)."""
    from hull.registry.server.gc import collect

    report = collect(root, dry_run=dry_run, delete_untagged=delete_untagged,
                     upload_max_age=upload_max_age * 3600)
    verb = "would remove" if dry_run else "removed"
    for uid in report.uploads:
        click.echo(f"{verb} upload {uid}")
    for name, digest in report.manifests:
        click.echo(f"{verb} manifest {name}@{digest}")
    for digest, size in report.blobs:
        click.echo(f"{verb} blob {digest} ({size} bytes)")
    if dry_run:
        click.echo(f"{len(report.blobs)} blobs would be removed, {report.freed} bytes would be "
                   "freed")
    else:
        click.echo(f"{len(report.blobs)} blobs removed, {report.freed} bytes freed")
