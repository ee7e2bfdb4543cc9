"""DATABASE_URL: a postgresql:// address, checked once, that never shows its password."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, unquote, urlsplit

SCHEMES = ("postgresql", "postgres")


class DatabaseUrl:
    """A parsed PostgreSQL address. `reveal()` is the full DSN for the driver; str and repr hide
    the password, so the URL can be logged and shown in settings errors."""

    __slots__ = ("_dsn", "database", "host", "password", "port", "user")

    def __init__(self, raw: str) -> None:
        parts = urlsplit(raw)
        if parts.scheme not in SCHEMES:
            raise ValueError("must start with postgresql://")
        try:
            port = parts.port
        except ValueError:
            raise ValueError("has a port that is not a number from 1 to 65535") from None
        socket_dir = parse_qs(parts.query).get("host", [""])[0]
        if not (parts.hostname or socket_dir):
            raise ValueError("must name a host (postgresql://user:password@host/database)")
        database = unquote(parts.path.lstrip("/"))
        if not database or "/" in database:
            raise ValueError("must name one database after the host (…@host/database)")
        self._dsn = raw
        self.user = unquote(parts.username or "")
        self.password = unquote(parts.password or "")
        self.host = parts.hostname or socket_dir
        self.port = port
        self.database = database

    def reveal(self) -> str:
        return self._dsn

    def __repr__(self) -> str:
        return f"DatabaseUrl({str(self)!r})"

    def __str__(self) -> str:
        auth = quote(self.user, safe="") + (":********" if self.password else "")
        port = f":{self.port}" if self.port else ""
        at = f"{auth}@" if auth else ""
        database = quote(self.database, safe="")
        if self.host.startswith("/"):  # a unix socket folder
            return f"postgresql://{at}/{database}?host={self.host}{port and '&port=' + port[1:]}"
        return f"postgresql://{at}{self.host}{port}/{database}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DatabaseUrl) and other._dsn == self._dsn

    def __hash__(self) -> int:
        return hash(self._dsn)
