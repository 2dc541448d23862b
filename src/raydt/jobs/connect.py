"""Which Ray dashboard a jobs command talks to, with which credentials, and a first request that tells an
unreachable address, a refused token and a server that is not Ray's dashboard apart (each a clean error,
within ``PROBE_TIMEOUT_S``: Ray's own client sends its requests with no timeout at all).

Address: ``--address``, else ``RAY_API_SERVER_ADDRESS``, else an ``http(s)://`` ``RAY_ADDRESS`` (Ray's own
rule), else the dashboard of the cluster ``raydt cluster up`` started. Token: ``--token-file``, else
``RAY_AUTH_TOKEN``, else ``RAY_AUTH_TOKEN_PATH``, else the lasting cluster's token file when the address is
its dashboard. Extra headers: ``RAY_JOB_HEADERS`` (a JSON object, as Ray's CLI). The token is sent as
``Authorization: Bearer`` and never printed: results name only where it came from."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from raydt.errors import JobsAuthError, JobsError, JobsUnreachableError, NotRayDashboardError, UsageError

PROBE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Target:
    """A dashboard to talk to: its URL, the headers every request carries, and where the token came from."""

    address: str
    headers: dict[str, str] = field(repr=False)
    token_source: str | None
    lasting: dict[str, Any] | None  # the `raydt cluster up` record when the address is its dashboard

    def describe(self) -> dict[str, Any]:
        return {"address": self.address, "tokenSource": self.token_source or "none"}


def resolve(address: str | None, token_file: str | None) -> Target:
    """The target of a jobs command (see the module docstring for the order)."""
    from raydt.clusters import state

    lasting = state.running()
    given = address or os.environ.get("RAY_API_SERVER_ADDRESS") or _http(os.environ.get("RAY_ADDRESS"))
    if not given:
        if lasting is None:
            from raydt.clusters import detect

            detect.refuse_dead()  # the cluster the user set up died: say so, not "no address"
            raise UsageError(
                "no Ray dashboard address: --address is not given, RAY_API_SERVER_ADDRESS is not set, and no "
                "cluster started by `raydt cluster up` runs",
                hint="Pass --address http://HEAD:8265 (the head's dashboard), or start one: raydt cluster up",
            )
        given = str(lasting["dashboardUrl"])
    url = normalize(given)
    own = lasting if lasting is not None and normalize(str(lasting["dashboardUrl"])) == url else None
    headers = _env_headers()
    if any(k.lower() == "authorization" for k in headers):  # the user's own header wins, as in Ray's client
        return Target(url, headers, "RAY_JOB_HEADERS", own)
    token, source = _token(token_file, own)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return Target(url, headers, source, own)


def normalize(address: str) -> str:
    """``host:port`` or a URL, as the URL Ray's client takes (no trailing slash)."""
    text = address.strip().rstrip("/")
    if "://" not in text:
        text = f"http://{text}"
    if not text.startswith(("http://", "https://")):
        raise UsageError(
            f"--address must be the head's dashboard URL (http://HOST:8265), got {address!r}",
            hint="A GCS address (HOST:6379) or ray:// is not the Jobs API: use the dashboard port (default 8265).",
        )
    return text


def _http(value: str | None) -> str | None:
    return value if value and value.startswith(("http://", "https://")) else None


def _env_headers() -> dict[str, str]:
    raw = os.environ.get("RAY_JOB_HEADERS")
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise UsageError(
            "RAY_JOB_HEADERS must be a JSON object of string header values (its value is not shown)",
            hint='e.g. RAY_JOB_HEADERS=\'{"Authorization": "Bearer ..."}\'',
        )
    return {str(k): v for k, v in data.items()}


def _token(token_file: str | None, own: dict[str, Any] | None) -> tuple[str | None, str | None]:
    if token_file:
        return _read_token(Path(token_file).expanduser(), "--token-file"), f"file {token_file} (--token-file)"
    if os.environ.get("RAY_AUTH_TOKEN"):
        return os.environ["RAY_AUTH_TOKEN"].strip(), "RAY_AUTH_TOKEN"
    if os.environ.get("RAY_AUTH_TOKEN_PATH"):
        path = os.environ["RAY_AUTH_TOKEN_PATH"]
        return _read_token(Path(path).expanduser(), "RAY_AUTH_TOKEN_PATH"), f"file {path} (RAY_AUTH_TOKEN_PATH)"
    if own is not None:
        path = str(own["tokenFile"])
        return _read_token(Path(path), "the lasting cluster's token file"), f"file {path} (raydt cluster up)"
    return None, None


def _read_token(path: Path, where: str) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise UsageError(
            f"{where}: the token file {path} cannot be read ({exc.strerror or exc})",
            hint="Name a readable file that holds the cluster's token (ray get-auth-token prints it).",
        ) from None
    if not token:
        raise UsageError(f"{where}: the token file {path} is empty", hint="Put the cluster's token in it.")
    return token


def probe(target: Target) -> str:
    """Ask the dashboard for its Ray version and for the job list (the request token auth guards); return
    the cluster's Ray version, or raise the ``JobsError`` that says what is wrong."""
    import requests

    version = _get(requests, target, "/api/version")
    try:
        ray_version = str(version.json()["ray_version"])
    except (ValueError, KeyError, TypeError):
        raise _not_ray(target, f"/api/version answered {version.status_code} without a Ray version") from None
    _get(requests, target, "/api/jobs/")
    return ray_version


def _get(requests: Any, target: Target, path: str) -> Any:
    try:
        reply = requests.get(target.address + path, headers=target.headers, timeout=PROBE_TIMEOUT_S)
    except requests.exceptions.Timeout:
        raise _unreachable(target, f"no answer within {PROBE_TIMEOUT_S:g}s") from None
    except requests.exceptions.RequestException as exc:
        spoke = _not_http(exc)
        if spoke is not None:
            why = f"GET {path} was answered, but not in HTTP ({spoke}): a gRPC port such as the GCS (6379) answers so"
            raise _not_ray(target, why) from None
        raise _unreachable(target, type(exc).__name__) from None
    if reply.status_code in (401, 403):
        raise auth_error(target, reply.status_code)
    if reply.status_code != 200:
        raise _not_ray(target, f"GET {path} answered HTTP {reply.status_code}")
    return reply


def _not_http(exc: BaseException) -> str | None:
    """The name of the error that shows something listens at the address but does not speak HTTP (a reply that
    is no HTTP status line, a connection closed after it was accepted), or None (nothing listens, no route)."""
    import http.client

    from urllib3.exceptions import NewConnectionError, ProtocolError

    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    chain += [a for e in chain for a in e.args if isinstance(a, BaseException)]  # urllib3 keeps its reason in args
    if any(isinstance(e, NewConnectionError | ConnectionRefusedError) for e in chain):
        return None
    spoke: BaseException | None = next((e for e in chain if isinstance(e, http.client.HTTPException)), None)
    if spoke is None and any(isinstance(e, ProtocolError) for e in chain):
        spoke = next((e for e in chain if isinstance(e, ConnectionResetError)), None)
    return type(spoke).__name__ if spoke is not None else None


def _unreachable(target: Target, why: str) -> JobsError:
    return JobsUnreachableError(
        f"cannot reach a Ray dashboard at {target.address}: {why}",
        hint="Check the address and that the head runs (its dashboard port, default 8265); "
        "through a firewall, use an SSH tunnel or kubectl port-forward rather than opening the port.",
    )


def auth_error(target: Target, status: int) -> JobsError:
    given = f"the token from {target.token_source}" if target.token_source else "no token"
    rule = "refused the token (HTTP 403)" if status == 403 else "requires a token (HTTP 401)"
    return JobsAuthError(
        f"the Ray dashboard at {target.address} {rule}; raydt sent {given}",
        hint="Give the cluster's token: --token-file FILE, or RAY_AUTH_TOKEN / RAY_AUTH_TOKEN_PATH "
        "(on the head: ray get-auth-token).",
    )


def _not_ray(target: Target, why: str) -> JobsError:
    return NotRayDashboardError(
        f"{target.address} is not a Ray dashboard with the Jobs API: {why}",
        hint="Use the head node's dashboard address (http://HEAD:8265), not the GCS port, Serve or another service.",
    )


def client(target: Target) -> Any:
    """Ray's ``JobSubmissionClient`` for a probed target (explicit headers: Ray adds no token of its own)."""
    import logging

    from ray.job_submission import JobSubmissionClient

    # Ray's client logs each upload and socket at INFO on the submitter's stderr; raydt says what it sends
    from raydt.ray_compat import JOB_CLIENT_LOGGERS

    for name in JOB_CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        return JobSubmissionClient(target.address, headers=dict(target.headers))
    except ConnectionError:
        raise _unreachable(target, "the connection failed") from None
    except RuntimeError as exc:
        raise _not_ray(target, str(exc)) from None
