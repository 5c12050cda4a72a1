"""Health checks: Docker's HealthConfig from the image and the ``--health-*`` flags, and the
``State.Health`` record the shim keeps up to date (see :mod:`hull.shim.health`)."""

from __future__ import annotations

from hull.errors import InvalidArgument

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any

SECOND = 1_000_000_000
DEFAULT_INTERVAL = 30 * SECOND
DEFAULT_TIMEOUT = 30 * SECOND
DEFAULT_RETRIES = 3
MIN_INTERVAL = SECOND // 1000  # Docker refuses durations under a millisecond


def _duration(text: str | None, flag: str) -> int | None:
    if text is None:
        return None
    from hull.cli.humanize import parse_duration

    try:
        seconds = parse_duration(text)
    except InvalidArgument:
        raise InvalidArgument(f'invalid argument "{text}" for "{flag}" flag: time: invalid'
                              f' duration "{text}"', exit_code=125) from None
    ns = int(round(seconds * SECOND))
    if ns and ns < MIN_INTERVAL:
        raise InvalidArgument(f"{flag} cannot be less than 1ms", exit_code=125)
    if ns < 0:
        raise InvalidArgument(f"{flag} cannot be negative", exit_code=125)
    return ns


def health_flags(cmd: str | None, interval: str | None, timeout: str | None,
                 start_period: str | None, retries: int | None,
                 disabled: bool) -> dict[str, Any] | None:
    """Config.Healthcheck for the flags (None: keep the image's)."""
    given = any(v is not None for v in (cmd, interval, timeout, start_period, retries))
    if disabled:
        if given:
            raise InvalidArgument("--no-healthcheck conflicts with --health-* options",
                                  exit_code=125)
        return {"Test": ["NONE"]}
    if not given:
        return None
    if retries is not None and retries < 0:
        raise InvalidArgument("--health-retries cannot be negative", exit_code=125)
    health: dict[str, Any] = {}
    if cmd is not None:
        health["Test"] = ["CMD-SHELL", cmd]
    for key, value in (("Interval", _duration(interval, "--health-interval")),
                       ("Timeout", _duration(timeout, "--health-timeout")),
                       ("StartPeriod", _duration(start_period, "--health-start-period"))):
        if value:
            health[key] = value
    if retries:
        health["Retries"] = retries
    return health


def merge_health(container: dict[str, Any] | None,
                 image: dict[str, Any] | None) -> dict[str, Any] | None:
    """The container's settings over the image's HEALTHCHECK, field by field (Docker)."""
    if not container:
        return dict(image) if image else None
    if not image or container.get("Test") == ["NONE"]:
        return dict(container)
    merged = dict(image)
    merged.update({k: v for k, v in container.items() if v})
    return merged


def effective(health: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the shim runs: Test as argv or shell, durations with defaults; None if none."""
    if not health:
        return None
    test = list(health.get("Test") or [])
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD-SHELL":
        args = ["/bin/sh", "-c", " ".join(test[1:])]
    elif test[0] == "CMD":
        args = test[1:]
    else:
        args = ["/bin/sh", "-c", " ".join(test)]
    if not args:
        return None
    return {"args": args,
            "interval": int(health.get("Interval") or DEFAULT_INTERVAL),
            "timeout": int(health.get("Timeout") or DEFAULT_TIMEOUT),
            "start_period": int(health.get("StartPeriod") or 0),
            "retries": int(health.get("Retries") or DEFAULT_RETRIES)}
