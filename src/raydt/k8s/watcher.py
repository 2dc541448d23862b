"""``python -m raydt.k8s.watcher --cluster NAME --after SECONDS``: the watcher container that ``k8sConfig.idleStop``
(``raydt k8s --cluster --idle-stop 30m``) adds to a RayCluster's head pod. KubeRay has no idle stop of a whole
cluster (its autoscaler's ``idleTimeoutSeconds`` removes idle worker pods only); this suspends the RayCluster once
nothing used it that long, with ``clusters.idle``'s loop and ``k8s.suspend``'s patch.

Use is asked of the head's dashboard, next door in the same pod (``http://127.0.0.1:8265``, with the cluster's Ray
token from ``RAY_AUTH_TOKEN``): a job that is pending or running (``/api/jobs/``: submitted jobs, and drivers that
connected by themselves, ``raydt run`` on the head or a Ray Client), or a Serve application
(``/api/serve/applications/``). What cannot be told (the dashboard not up yet, an error) counts as use: the cluster
is never suspended on a doubt. The watcher says what it does on its output (``kubectl logs POD -c raydt-idle-stop``)
and, in the patch, in the RayCluster's ``raydt/stopped`` annotation. Imports no Ray.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from raydt.clusters import idle
from raydt.k8s import suspend

DASHBOARD = "http://127.0.0.1:8265"
ACTIVE = ("PENDING", "RUNNING")


def _get(url: str, token: str | None) -> Any:
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10.0) as resp:
        return json.loads(resp.read() or b"null")


def busy(dashboard: str = DASHBOARD, token: str | None = None) -> str | None:
    """What uses the Ray cluster whose dashboard is at ``dashboard``, in words (None: nothing)."""
    base = dashboard.rstrip("/")
    try:
        jobs = _get(f"{base}/api/jobs/", token)
        running = [j for j in jobs or [] if isinstance(j, dict) and j.get("status") in ACTIVE]
        if running:
            job = running[0]
            what = job.get("submission_id") or job.get("job_id")
            return f"{str(job.get('type', 'job')).lower()} job {what} ({job['status']}: {job.get('entrypoint', '')})"
        try:
            serve = _get(f"{base}/api/serve/applications/", token)
        except urllib.error.HTTPError as exc:
            if exc.code != 404:  # 404: no Serve in this dashboard
                raise
            serve = None
        apps = sorted((serve or {}).get("applications") or {}) if isinstance(serve, dict) else []
        if apps:
            return f"Serve application(s) {', '.join(apps)}"
    except (urllib.error.URLError, OSError, ValueError, TypeError, AttributeError) as exc:
        return f"cannot tell ({getattr(exc, 'reason', exc)}): counted as use"
    return None


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _say(text: str) -> None:
    print(f"{_now():%Y-%m-%dT%H:%M:%SZ} raydt idle stop: {text}", flush=True)


def reason(after: str, idle_s: float) -> str:
    """The annotation's words: the setting, since when, and that nothing used the cluster."""
    since = _now() - datetime.timedelta(seconds=idle_s)
    return f"idle {after} since {since:%Y-%m-%dT%H:%M:%SZ}: no job, driver or Serve application (k8sConfig.idleStop)"


def watch(args: argparse.Namespace, api: suspend.Api) -> int:
    """Suspend the RayCluster once idle for ``args.after`` seconds; then wait for KubeRay to delete this pod."""
    token = os.environ.get("RAY_AUTH_TOKEN") or None
    last: str | None = ""  # what the previous look found ('': none yet): the log says each change

    def probe() -> str | None:
        nonlocal last
        found = busy(args.dashboard, token)
        if (found is None) != (last is None):
            _say(f"in use: {found}" if found else f"idle: nothing uses it (suspends after {args.idle_stop} of this)")
        last = found
        return found

    def stop(idle_s: float) -> bool:
        words = reason(args.idle_stop, idle_s)
        try:
            suspend.suspend(api, args.cluster, words)
        except suspend.ApiError as exc:
            _say(f"could not suspend RayCluster {args.cluster} (tries again): {exc}")
            return False
        _say(f"suspended RayCluster {args.cluster}: {words}")
        return True

    try:
        api.request("GET", args.cluster)
        _say(f"watching RayCluster {api.namespace()}/{args.cluster}: suspends it after {args.idle_stop} unused")
    except suspend.ApiError as exc:  # keep watching: the Role may come later, and a stopped watcher says nothing
        _say(f"WARNING: cannot read RayCluster {args.cluster}, suspending it will fail until this is fixed: {exc}")
    idle.wait_idle(probe, args.after, stop, poll_s=args.poll)
    while not args.exit_after_stop:
        time.sleep(3600)  # KubeRay deletes this pod with the others
    return 0


def dry_run(args: argparse.Namespace, api: suspend.Api) -> int:
    """What the watcher sees now and the request it would send when idle, as JSON; sends nothing."""
    try:
        path = api.path(args.cluster)
    except suspend.ApiError as exc:
        path = f"(unknown: {exc})"
    found = busy(args.dashboard, os.environ.get("RAY_AUTH_TOKEN") or None)
    request: dict[str, Any] = {"method": "PATCH", "url": api.base + path, "contentType": suspend.MERGE_PATCH}
    request["body"] = suspend.suspend_patch(reason(args.idle_stop, args.after))
    print(json.dumps({"cluster": args.cluster, "after": args.after, "busy": found, "whenIdle": request}, indent=2))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m raydt.k8s.watcher", description=__doc__.split("\n\n")[0])
    p.add_argument("--cluster", required=True, help="the RayCluster to suspend (this pod's)")
    p.add_argument("--idle-stop", required=True, help="how long unused before it is suspended (30m, 90s, 2h)")
    p.add_argument("--dashboard", default=DASHBOARD, help=f"the head's dashboard (default: {DASHBOARD})")
    p.add_argument("--api", help="the Kubernetes API (default: https://$KUBERNETES_SERVICE_HOST:$..._PORT)")
    p.add_argument("--credentials", help=f"the service account's folder (default: {suspend.CREDENTIALS})")
    p.add_argument("--poll", type=float, help="seconds between looks (default: a sixth of the time, 0.5 to 30)")
    p.add_argument("--dry-run", action="store_true", help="print what it sees and would send, send nothing")
    p.add_argument("--exit-after-stop", action="store_true", help="return once suspended (default: wait)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from raydt.clusters.options import parse_duration
    from raydt.errors import OptionError

    try:
        args.after = parse_duration(args.idle_stop)
    except OptionError as err:
        parser().error(str(err))
    api = suspend.Api.in_cluster(args.api, args.credentials)
    return dry_run(args, api) if args.dry_run else watch(args, api)


if __name__ == "__main__":
    sys.exit(main())
