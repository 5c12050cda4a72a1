"""Human sizes, durations and timestamps as Docker (go-units) prints and reads them."""

from __future__ import annotations

import pytest

from hull.cli.humanize import (
    bytes_size,
    format_rfc3339,
    human_duration,
    human_size,
    parse_duration,
    parse_rfc3339,
    parse_size,
    parse_timestamp,
    since,
)
from hull.errors import InvalidArgument


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (0, "0B"), (1, "1B"), (999, "999B"), (1000, "1kB"), (1234, "1.23kB"),
        (1500, "1.5kB"), (4_400_000, "4.4MB"), (5_570_000, "5.57MB"), (5_574_912, "5.57MB"),
        (77_800_000, "77.8MB"), (1_200_000_000, "1.2GB"), (1_000_000_000_000, "1TB"),
        (999_999, "1e+03kB"),  # Go's %.3g, and so Docker, really print this
        (123_456_789, "123MB"),
    ],
)
def test_human_size_has_three_significant_digits(size: int, expected: str) -> None:
    assert human_size(size) == expected


def test_human_size_precision_four_is_go_units_default() -> None:
    assert human_size(1_234_567, precision=4) == "1.235MB"


@pytest.mark.parametrize(
    ("size", "expected"),
    [(0, "0B"), (1023, "1023B"), (1024, "1KiB"), (1536 * 1024, "1.5MiB"),
     (512 * 1024 * 1024, "512MiB"), (2 * 1024**3, "2GiB"), (1_000_000, "976.6KiB")],
)
def test_bytes_size_is_binary(size: int, expected: str) -> None:
    assert bytes_size(size) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "Less than a second"), (0.9, "Less than a second"), (1, "1 second"),
        (3, "3 seconds"), (59, "59 seconds"), (60, "About a minute"), (119, "About a minute"),
        (120, "2 minutes"), (5 * 60, "5 minutes"), (59 * 60, "59 minutes"),
        (60 * 60, "About an hour"), (89 * 60, "About an hour"), (90 * 60, "2 hours"),
        (3 * 3600, "3 hours"), (47 * 3600, "47 hours"), (48 * 3600, "2 days"),
        (13 * 86400, "13 days"), (14 * 86400, "2 weeks"), (3 * 7 * 86400, "3 weeks"),
        (60 * 86400, "2 months"), (4 * 30 * 86400, "4 months"), (730 * 86400, "2 years"),
    ],
)
def test_human_duration(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


def test_since_reads_numbers_and_rfc3339() -> None:
    now = 1_700_000_000.0
    assert since(now - 300, now=now) == "5 minutes ago"
    assert since("2023-11-14T22:13:20Z", now=now) == "Less than a second ago"
    assert since("2023-11-14T21:13:20Z", now=now) == "About an hour ago"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0), ("100", 100), ("100b", 100), ("12m", 12 * 1024**2), ("12M", 12 * 1024**2),
        ("1.5g", int(1.5 * 1024**3)), ("512k", 512 * 1024), ("512KiB", 512 * 1024),
        ("512 kb", 512 * 1024), ("1t", 1024**4), ("2p", 2 * 1024**5), ("64MB", 64 * 1024**2),
    ],
)
def test_parse_size_binary_like_ram_in_bytes(text: str, expected: int) -> None:
    assert parse_size(text) == expected


def test_parse_size_decimal() -> None:
    assert parse_size("10MB", binary=False) == 10_000_000
    assert parse_size("1.5k", binary=False) == 1500


@pytest.mark.parametrize("text", ["12q", "", "m", "-1", "1..5m", "12mbx", "1 2m"])
def test_parse_size_rejects_with_dockers_message(text: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_size(text)
    assert str(info.value) == f"invalid size: '{text}'"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0), ("10s", 10.0), ("10m", 600.0), ("1h30m", 5400.0), ("1.5s", 1.5),
        ("300ms", 0.3), ("2us", 2e-6), ("2\u00b5s", 2e-6), ("5ns", 5e-9), ("-2h", -7200.0),
        ("+1m", 60.0), ("1h1m1s", 3661.0), (".5s", 0.5), ("1.s", 1.0),
    ],
)
def test_parse_duration_like_go(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10", 'time: missing unit in duration "10"'),
        ("10x", 'time: unknown unit "x" in duration "10x"'),
        ("", 'time: invalid duration ""'),
        ("abc", 'time: invalid duration "abc"'),
        ("-", 'time: invalid duration "-"'),
        (".s", 'time: invalid duration ".s"'),
    ],
)
def test_parse_duration_errors_like_go(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_duration(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02T03:04:05Z", 1704164645.0),
        ("2024-01-02T03:04:05.25Z", 1704164645.25),
        ("2024-01-02T03:04:05+01:00", 1704164645.0 - 3600),
        ("2024-01-02T03:04:05-02:30", 1704164645.0 + 9000),
        ("2024-01-02T03:04Z", 1704164640.0),
        ("2024-01-02T03Z", 1704164400.0),
        ("2024-01-02Z", 1704153600.0),
    ],
)
def test_parse_rfc3339_with_zone(text: str, expected: float) -> None:
    assert parse_rfc3339(text) == pytest.approx(expected)


def test_parse_rfc3339_without_zone_is_local_time() -> None:
    assert parse_rfc3339("2024-01-02T03:04:05", local_offset=3600) == 1704164645.0 - 3600
    assert parse_rfc3339("2024-01-02", local_offset=0) == 1704153600.0


@pytest.mark.parametrize("text", ["2024-13-01", "2024-02-30", "2024-01-02T25:00:00Z",
                                  "2024-1-2", "yesterday"])
def test_parse_rfc3339_rejects_bad_dates(text: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_rfc3339(text)


def test_parse_timestamp_accepts_what_docker_logs_since_accepts() -> None:
    now = 1_700_000_000.0
    assert parse_timestamp("10m", now=now) == now - 600
    assert parse_timestamp("1h30m", now=now) == now - 5400
    assert parse_timestamp("1700000000", now=now) == 1_700_000_000
    assert parse_timestamp("1699999999.5", now=now) == pytest.approx(1_699_999_999.5)
    assert parse_timestamp("0", now=now) == 0  # "0" is a Unix time, not a zero duration
    assert parse_timestamp("2023-11-14T22:13:20Z", now=now) == 1_700_000_000


@pytest.mark.parametrize("text", ["soon", "10x", "12:00"])
def test_parse_timestamp_rejects_garbage(text: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_timestamp(text, now=0)
    assert str(info.value) == f'failed to parse value as time or duration: "{text}"'


def test_format_rfc3339() -> None:
    assert format_rfc3339(1704164645) == "2024-01-02T03:04:05Z"
    assert format_rfc3339(1704164645.25, nanos=True) == "2024-01-02T03:04:05.25Z"
    assert format_rfc3339(1704164645.0, nanos=True) == "2024-01-02T03:04:05Z"
