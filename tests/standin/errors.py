"""Discord's error answers: status, JSON code and message, and the nested "Invalid Form Body"."""

from __future__ import annotations

from typing import Any


class StandinError(Exception):
    """A test asked the stand-in for something a real Discord client could not do."""


class DiscordError(Exception):
    """An HTTP error answer, shaped like Discord's: {"code", "message", "errors"?}."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        return body

    def reason(self) -> str:
        """The message plus each form error as `path: message`, for the refusal log."""
        details = [f"{path}: {text}" for path, text in _flatten(self.errors or {}, "")]
        return "; ".join([self.message, *details])


def _flatten(tree: dict[str, Any], prefix: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for key, value in tree.items():
        if key == "_errors":
            found += [(prefix or "(body)", e["message"]) for e in value]
        else:
            found += _flatten(value, f"{prefix}.{key}" if prefix else key)
    return found


class FormErrors:
    """Collects field problems, then raises one 400 50035 "Invalid Form Body" holding them all."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: str, code: str, message: str) -> None:
        node = self.tree
        for part in [p for p in path.split(".") if p]:
            node = node.setdefault(part, {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def max_length(self, path: str, value: Any, limit: int) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def length_between(self, path: str, value: Any, low: int, high: int) -> None:
        if not isinstance(value, str | list) or not low <= len(value) <= high:
            self.add(
                path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length."
            )

    def max_items(self, path: str, items: Any, limit: int) -> None:
        if isinstance(items, list) and len(items) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def raise_if_any(self) -> None:
        if self.tree:
            raise DiscordError(400, 50035, "Invalid Form Body", self.tree)


def unauthorized() -> DiscordError:
    return DiscordError(401, 0, "401: Unauthorized")


def unknown(what: str) -> DiscordError:
    codes = {
        "Application": 10002, "Channel": 10003, "Guild": 10004, "Member": 10007,
        "Message": 10008, "User": 10013, "Webhook": 10015, "interaction": 10062,
        "application command": 10063,
    }
    return DiscordError(404, codes[what], f"Unknown {what}")


def missing_access() -> DiscordError:
    return DiscordError(403, 50001, "Missing Access")


def missing_permissions() -> DiscordError:
    return DiscordError(403, 50013, "Missing Permissions")


def cannot_dm() -> DiscordError:
    return DiscordError(403, 50007, "Cannot send messages to this user")


def empty_message() -> DiscordError:
    return DiscordError(400, 50006, "Cannot send an empty message")


def already_acknowledged() -> DiscordError:
    return DiscordError(400, 40060, "Interaction has already been acknowledged.")


def invalid_webhook_token() -> DiscordError:
    return DiscordError(401, 50027, "Invalid Webhook Token")


def too_large() -> DiscordError:
    return DiscordError(413, 40005, "Request entity too large")


def form_error(path: str, code: str, message: str) -> DiscordError:
    errors = FormErrors()
    errors.add(path, code, message)
    return DiscordError(400, 50035, "Invalid Form Body", errors.tree)
