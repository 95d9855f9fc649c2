"""Every setting in one list, read from the environment (or a dict given to ``create_app``).

``tests/test_docs.py`` fails when a setting here is missing from ``docs/configuration.md``.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import problems
from pipeline.passwords import HashCost
from pipeline.throttle import Limit

_COST = HashCost()  # RFC 9106's second choice


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS = [
    Setting("SANGJOG_DATA_DIR", "data", "Folder for the SQLite warehouse, attachments, built forms and exports."),
    Setting("DATABASE_URL", None, "SQLAlchemy URL of the warehouse. Default: a SQLite file in the data folder. PostgreSQL: postgresql://user:pass@host/db."),
    Setting("SECRET_KEY", None, "Signs session cookies. Default: a random key generated once and kept in the data folder."),
    Setting("SERVER_URL", None, "Public base URL (http://192.168.1.10:5000) put in Collect QR codes and form download links. Default: the URL of the request."),
    Setting("SQLITE_BUSY_SECONDS", 30, "How long a write to the SQLite file waits while another process writes (a backup, a command) before the request answers 503 with Retry-After; Collect sends it again later."),
    Setting("PROXY_COUNT", 0, "Reverse proxies in front of the server (nginx for TLS: 1). The client's address (for the wrong-password limits) and scheme are then read from the X-Forwarded-For and X-Forwarded-Proto headers the last proxy sets; 0 trusts no such header."),
    Setting("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "Map tiles of the Map page, fetched by the reader's browser ({z}/{x}/{y}, Leaflet's {s} for subdomains); its host is the only one besides this server the map page's Content-Security-Policy lets images come from. A tile server on the office network keeps maps working without Internet."),
    Setting("MAP_ATTRIBUTION", "© OpenStreetMap contributors", "Credit shown in the map's corner for its tiles (plain text); say whose tiles MAP_TILE_URL serves."),
    Setting("METRICS_TOKEN", None, "Bearer token that Prometheus sends to read /metrics (Authorization: Bearer TOKEN). Unset: /metrics answers 404."),
    Setting("HEALTH_MAX_BACKLOG", 5000, "/healthz answers 503 when more stored submissions than this wait for the loader."),
    Setting("HEALTH_MIN_FREE_MB", 500, "/healthz answers 503 when the data folder's disk has less free space than this, in megabytes."),
    Setting("MAX_SUBMISSION_MB", 100, "Largest submission upload (XML plus attachments) accepted, in megabytes."),
    Setting("MAX_SUBMISSION_ELEMENTS", 100_000, "Most XML elements a submission may have; more is refused (400) while it is read, before its tree is built."),
    Setting("MAX_SUBMISSION_DEPTH", 64, "Deepest nesting of XML elements a submission may have; deeper is refused (400) while it is read."),
    Setting("BLOB_STORE", "", "Where attachments are kept: empty for the data folder's blobs/, a folder path, or S3-compatible object storage as s3://bucket/prefix (credentials and region from the environment or the usual AWS configuration)."),
    Setting("BLOB_STORE_ENDPOINT_URL", None, "The object store's address when it is not AWS S3 (MinIO, Ceph, Garage: https://s3.example.org)."),
    Setting("BLOB_DOWNLOAD_URL_SECONDS", 0, "With object storage: answer photo downloads with a redirect to a presigned URL valid this many seconds, so the bytes do not pass through the server. 0: stream them through the server."),
    Setting("LOGIN_FAILURES_PER_USER", "10 per 15 minutes", "Wrong passwords allowed for one user name (web login and Collect with HTTP Basic, counted together by every worker) before it waits (429 with Retry-After)."),
    Setting("LOGIN_FAILURES_PER_ADDRESS", "300 per 15 minutes", "Wrong passwords allowed from one address (an office of phones behind one router shares it) before it waits."),
    Setting("DEFAULT_LANGUAGE", "", "Interface language for people who have not chosen one with the switch: en, bn or ne (a Nepal deployment: ne). Empty: the browser's preference, else English."),
    Setting("TIME_ZONE", "Asia/Dhaka", "Zone of times that belong to no country's row (logins, form versions, sync runs); a row's times show in its own country's zone whatever this says (a Nepal deployment: Asia/Kathmandu)."),
    Setting("PASSWORD_HASH_TIME_COST", _COST.time_cost, "argon2id passes over its memory for each password hashed or checked (logins, new passwords): more makes every guess slower, the server's own checks and a thief's alike."),
    Setting("PASSWORD_HASH_MEMORY_MB", _COST.memory_mb, "argon2id memory for each password hashed, in megabytes: what makes guessing on graphics cards expensive; each login holds this much for its hash."),
    Setting("PASSWORD_HASH_PARALLELISM", _COST.parallelism, "argon2id lanes of each password hash (at least 1, at most one per 8 KiB of memory)."),
    Setting("LINK_SUBMISSIONS_PER_HOUR", 500, "Most submissions one public form link takes in an hour (a workshop of a few hundred people fits); more get 429 with Retry-After."),
]


def load(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Settings from defaults, then the environment, then ``overrides``."""
    conf: dict[str, Any] = {}
    for s in SETTINGS:
        value = os.environ.get(s.name, s.default)
        if isinstance(s.default, int) and isinstance(value, str):
            try:
                value = int(value)
            except ValueError:  # the start stops with the setting's name, not a traceback
                raise problems.bad_setting(s.name, value, "it must be a whole number") from None
        conf[s.name] = value
    conf.update(overrides or {})
    for name in ("LOGIN_FAILURES_PER_USER", "LOGIN_FAILURES_PER_ADDRESS"):
        Limit.parse(conf[name])  # a mistyped limit stops the start, not a login
    hash_cost(conf)  # so does a password cost argon2 cannot run
    conf["DATABASE_URL"], data = locations(conf)
    conf["SANGJOG_DATA_DIR"] = str(data)
    data.mkdir(parents=True, exist_ok=True)
    if not conf["SECRET_KEY"]:
        conf["SECRET_KEY"] = _stored_secret(data / "secret_key")
    return conf


def hash_cost(conf: dict[str, Any]) -> HashCost:
    """The cost of a password hash the ``PASSWORD_HASH_*`` settings name."""
    names = ("PASSWORD_HASH_TIME_COST", "PASSWORD_HASH_MEMORY_MB", "PASSWORD_HASH_PARALLELISM")
    try:
        return HashCost(*(int(conf[name]) for name in names))
    except ValueError as exc:
        shown = " / ".join(str(conf[name]) for name in names)
        raise problems.bad_setting(" / ".join(names), shown, str(exc)) from None


def locations(conf: dict[str, Any] | None = None) -> tuple[str, Path]:
    """The database URL and the data folder the settings name (default: the environment's),
    creating nothing: ``sangjog backup`` and ``restore`` use them without starting the app."""
    if conf is None:
        conf = {name: os.environ.get(name) for name in ("SANGJOG_DATA_DIR", "DATABASE_URL")}
    data = Path(conf.get("SANGJOG_DATA_DIR") or "data").resolve()
    return conf.get("DATABASE_URL") or f"sqlite:///{data / 'sangjog.db'}", data


def _stored_secret(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
