"""``k8sConfig.idleStop`` / ``raydt k8s --cluster --idle-stop``: the RayCluster's RBAC and head-pod watcher validated
against KubeRay's CRDs and Kubernetes' RBAC rules, the watcher's command run as the manifest writes it, its patch
sent to a local server standing in for the Kubernetes API, its dashboard probe asked of a fake dashboard, and the
idle trigger with a fake probe and short durations. No cluster, no Ray."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import raydt
from raydt.clusters import idle as cluster_idle
from raydt.errors import OptionError, SpecError
from raydt.k8s import idle, suspend, watcher
from tests.conftest import ROOT
from tests.unit import kuberay_schema

S3 = "s3://bucket/raydt"
IMAGE = "registry.example.com/ml/raydt:0.1.0"  # an image with raydt in it
SPEC = {
    "mode": "train",
    "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 1}},
    "trainConfig": {"framework": "pytorch", "epochs": 3},
    "runConfig": {"name": "digits-ddp"},
    "k8sConfig": {"idleStop": "30m", "namespace": "ml"},
}
KINDS = ["ConfigMap", "ServiceAccount", "Role", "RoleBinding", "RayCluster"]


def manifests(spec: dict[str, Any] = SPEC, **flags: Any) -> dict[str, dict[str, Any]]:
    """The documents by kind, each asserted valid (its schema, then KubeRay's controller rules)."""
    out = raydt.k8s_manifests(spec, **{"storage": S3, "image": IMAGE, "cluster": True, **flags})
    for doc in out:
        kuberay_schema.check(doc)
    by_kind = {d["kind"]: d for d in out}
    assert len(by_kind) == len(out)
    return by_kind


def head_pod(cluster: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = cluster["spec"]["headGroupSpec"]["template"]["spec"]
    return pod


# -- the manifests ----------------------------------------------------------------------------------------------


def test_idle_stop_adds_a_role_on_this_raycluster_only_and_a_watcher_that_alone_holds_the_token() -> None:
    out = raydt.k8s_manifests(SPEC, storage=S3, image=IMAGE, cluster=True)
    assert [d["kind"] for d in out] == KINDS  # the account and its rights before the pods that use them
    docs = manifests()
    cluster, role, binding, account = docs["RayCluster"], docs["Role"], docs["RoleBinding"], docs["ServiceAccount"]
    assert cluster["metadata"]["annotations"]["raydt/idle-stop"] == "30m"
    assert role["apiVersion"] == binding["apiVersion"] == "rbac.authorization.k8s.io/v1"
    assert role["rules"] == [
        {
            "apiGroups": ["ray.io"],
            "resources": ["rayclusters"],
            "resourceNames": ["digits-ddp"],
            "verbs": ["get", "patch"],
        }
    ]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "digits-ddp-idle-stop", "namespace": "ml"}]
    assert account["metadata"]["name"] == "digits-ddp-idle-stop"
    assert {d["metadata"]["namespace"] for d in docs.values()} == {"ml"}
    pod = head_pod(cluster)
    assert pod["serviceAccountName"] == "digits-ddp-idle-stop" and pod["automountServiceAccountToken"] is False
    ray, watch = pod["containers"]
    assert ray["name"] == "ray-head" and watch["name"] == idle.CONTAINER and watch["image"] == IMAGE
    assert watch["command"] == ["python", "-m", "raydt.k8s.watcher", "--cluster", "digits-ddp", "--idle-stop", "30m"]
    token = {"name": "RAY_AUTH_TOKEN", "valueFrom": {"secretKeyRef": {"name": "digits-ddp", "key": "auth_token"}}}
    assert watch["env"] == [token]
    assert watch["resources"]["requests"] == watch["resources"]["limits"]  # the pod stays Guaranteed
    (volume,) = [v for v in pod["volumes"] if v["name"] == idle.TOKEN_VOLUME]
    sources = volume["projected"]["sources"]
    assert [next(iter(s)) for s in sources] == ["serviceAccountToken", "configMap", "downwardAPI"]
    assert watch["volumeMounts"] == [{"name": idle.TOKEN_VOLUME, "mountPath": idle.TOKEN_MOUNT, "readOnly": True}]
    assert all(m["mountPath"] != idle.TOKEN_MOUNT for m in ray["volumeMounts"])  # the Ray container gets none
    (group,) = cluster["spec"]["workerGroupSpecs"]
    assert "serviceAccountName" not in group["template"]["spec"] and len(group["template"]["spec"]["containers"]) == 1


def test_the_flag_wins_and_a_given_service_account_is_bound_not_created() -> None:
    spec = {**SPEC, "k8sConfig": {"idleStop": "30m", "serviceAccount": "trainer"}}
    docs = manifests(spec, idle_stop="2h")
    assert "ServiceAccount" not in docs  # it exists: it keeps its own bindings (a cloud role) and gains this Role
    assert docs["RoleBinding"]["subjects"] == [{"kind": "ServiceAccount", "name": "trainer"}]  # the binding's ns
    pod = head_pod(docs["RayCluster"])
    assert pod["serviceAccountName"] == "trainer" and pod["containers"][1]["command"][-1] == "2h"
    assert docs["RayCluster"]["metadata"]["annotations"]["raydt/idle-stop"] == "2h"


def test_an_autoscaling_cluster_keeps_its_autoscaler_s_api_access_and_auth_none_passes_no_token() -> None:
    spec = {**SPEC, "config": {"numWorkers": {"min": 1, "max": 3}, "resourcesPerWorker": {"cpu": 1}}}
    spec["k8sConfig"] = {"idleStop": "90s", "auth": "none"}
    cluster = manifests(spec)["RayCluster"]["spec"]
    assert cluster["enableInTreeAutoscaling"] is True
    assert cluster["autoscalerOptions"]["volumeMounts"] == [
        {"name": idle.TOKEN_VOLUME, "mountPath": idle.TOKEN_MOUNT, "readOnly": True}
    ]
    assert "env" not in head_pod({"spec": cluster})["containers"][1]


def test_without_idle_stop_nothing_changes() -> None:
    out = raydt.k8s_manifests({**SPEC, "k8sConfig": {}}, storage=S3, image=IMAGE, cluster=True)
    assert [d["kind"] for d in out] == ["ConfigMap", "RayCluster"]
    pod = out[1]["spec"]["headGroupSpec"]["template"]["spec"]
    assert len(pod["containers"]) == 1 and "automountServiceAccountToken" not in pod


@pytest.mark.parametrize(
    ("k8s_config", "flags", "error", "path", "rule", "hint"),
    [
        ({"idleStop": "30m"}, {"cluster": False}, SpecError, "k8sConfig.idleStop", "needs --cluster", "Add --cluster"),
        ({}, {"cluster": False, "idle_stop": "30m"}, OptionError, "--idle-stop", "shutdownAfterJobFinishes", "leave"),
        ({}, {"idle_stop": "soon"}, OptionError, "--idle-stop", "is not a duration", "30m"),
        ({"idleStop": "0s"}, {}, SpecError, "k8sConfig.idleStop", "is not a duration", "at least 1s"),
        (
            {"idleStop": "1h", "pip": ["--extra-index-url https://pypi.example.com/simple", "ray-distributed-trainer"]},
            {},
            SpecError,
            "k8sConfig.idleStop",
            "k8sConfig.pip installs raydt only into Ray's jobs",
            "--dockerfile",
        ),
    ],
)
def test_idle_stop_refusals_name_the_field_the_rule_the_value_and_the_fix(
    k8s_config: dict[str, Any], flags: dict[str, Any], error: type[SpecError], path: str, rule: str, hint: str
) -> None:
    spec = {**SPEC, "k8sConfig": k8s_config}
    with pytest.raises(error) as info:
        raydt.k8s_manifests(spec, **{"storage": S3, "image": IMAGE, "cluster": True, **flags})
    assert type(info.value) is error  # OptionError (USAGE) when only the flags are wrong
    issues = [i for i in info.value.issues if i.path == path]
    assert issues and rule in issues[0].rule and hint in issues[0].hint, info.value.issues
    assert issues[0].value == flags.get("idle_stop", k8s_config.get("idleStop"))


def test_a_bad_duration_in_the_spec_is_refused_by_validate_too() -> None:
    with pytest.raises(SpecError) as info:
        raydt.validate({**SPEC, "k8sConfig": {"idleStop": "half an hour"}})
    assert info.value.issues[0].path == "k8sConfig.idleStop"


def test_the_schema_lists_the_key() -> None:
    from raydt.spec.schemas import input_schema

    prop = input_schema()["$defs"]["K8sConfig"]["properties"]["idleStop"]
    assert "suspend" in prop["description"] and "--cluster" in prop["description"]


def test_the_cli_takes_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    from raydt.cli import main

    spec = tmp_path / "spec.yaml"
    spec.write_text(json.dumps({**SPEC, "k8sConfig": {"image": IMAGE}}))
    assert main(["k8s", str(spec), "--cluster", "--storage", S3, "--idle-stop", "45m"]) == 0
    kinds = [d["kind"] for d in yaml.safe_load_all(capsys.readouterr().out)]
    assert kinds == ["ConfigMap", "ServiceAccount", "Role", "RoleBinding", "RayCluster"]


def test_kuberays_token_secret_name() -> None:
    assert idle.token_secret("digits-ddp") == "digits-ddp"
    assert idle.token_secret("aaa-" + "b" * 49) == "r" + "b" * 49  # its last 50 characters; a leading '-' -> 'r'
    assert idle.token_secret("abc1" + "b" * 49) == "r" + "b" * 49  # a leading digit too


# -- fake servers: the Kubernetes API and the dashboard ---------------------------------------------------------


class Fake:
    """A local HTTP server that answers each path from ``routes`` (status, JSON) and records every request."""

    def __init__(self, routes: dict[str, tuple[int, Any]]) -> None:
        self.routes = routes
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size) if size else b""
                fake.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                )
                status, doc = fake.routes.get(self.path, (404, {"message": "not found"}))
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PATCH = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fakes() -> Iterator[list[Fake]]:
    made: list[Fake] = []
    yield made
    for fake in made:
        fake.close()


def serve(fakes: list[Fake], routes: dict[str, tuple[int, Any]]) -> Fake:
    fake = Fake(routes)
    fakes.append(fake)
    return fake


@pytest.fixture
def credentials(tmp_path: Path) -> Path:
    folder = tmp_path / "serviceaccount"
    folder.mkdir()
    (folder / "token").write_text("tok-123\n")
    (folder / "namespace").write_text("ml\n")
    return folder


CLUSTER_PATH = "/apis/ray.io/v1/namespaces/ml/rayclusters/digits-ddp"
RUNNING = {"type": "SUBMISSION", "submission_id": "raysubmit_1", "status": "RUNNING", "entrypoint": "python -m raydt"}
IDLE_DASHBOARD = {"/api/jobs/": (200, [{**RUNNING, "status": "SUCCEEDED"}]), "/api/serve/applications/": (200, {})}


# -- the suspend action ------------------------------------------------------------------------------------------


def test_the_suspend_patch_reaches_the_api_server_as_kubernetes_wants_it(fakes: list[Fake], credentials: Path) -> None:
    api_server = serve(fakes, {CLUSTER_PATH: (200, {"kind": "RayCluster", "spec": {"suspend": True}})})
    api = suspend.Api(api_server.url, credentials)
    why = "idle 30m since 2026-12-06T15:00:00Z: no job, driver or Serve application (k8sConfig.idleStop)"
    assert suspend.suspend(api, "digits-ddp", why)["spec"]["suspend"] is True
    (sent,) = api_server.requests
    assert sent["method"] == "PATCH" and sent["path"] == CLUSTER_PATH
    headers = {k.lower(): v for k, v in sent["headers"].items()}
    assert headers["content-type"] == "application/merge-patch+json"
    assert headers["authorization"] == "Bearer tok-123"  # read from the file, whitespace stripped
    assert json.loads(sent["body"]) == {"metadata": {"annotations": {"raydt/stopped": why}}, "spec": {"suspend": True}}


def test_an_api_refusal_says_why_and_the_in_cluster_address(
    fakes: list[Fake], credentials: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forbidden = {"kind": "Status", "message": 'rayclusters.ray.io "digits-ddp" is forbidden: cannot patch'}
    api = suspend.Api(serve(fakes, {CLUSTER_PATH: (403, forbidden)}).url, credentials)
    with pytest.raises(suspend.ApiError, match="HTTP 403 .*is forbidden: cannot patch"):
        suspend.suspend(api, "digits-ddp", "idle")
    with pytest.raises(suspend.ApiError, match="cannot read the service account's namespace"):
        suspend.suspend(suspend.Api(api.base, credentials / "missing"), "digits-ddp", "idle")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    assert suspend.Api.in_cluster() == suspend.Api("https://10.96.0.1:443", suspend.CREDENTIALS)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    assert suspend.Api.in_cluster().base == "https://[fd00::1]:443"


# -- what counts as use ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("routes", "expected"),
    [
        (IDLE_DASHBOARD, None),
        ({**IDLE_DASHBOARD, "/api/jobs/": (200, [RUNNING])}, "submission job raysubmit_1 (RUNNING: python -m raydt)"),
        (
            {**IDLE_DASHBOARD, "/api/jobs/": (200, [{"type": "DRIVER", "job_id": "02000000", "status": "RUNNING"}])},
            "driver job 02000000",
        ),
        ({**IDLE_DASHBOARD, "/api/serve/applications/": (200, {"applications": {"b": {}, "a": {}}})}, "a, b"),
        ({"/api/jobs/": (200, [])}, None),  # no Serve in the dashboard (404): nothing served
        ({"/api/jobs/": (503, {})}, "cannot tell"),  # never suspended on a doubt
    ],
)
def test_the_dashboard_probe(fakes: list[Fake], routes: dict[str, tuple[int, Any]], expected: str | None) -> None:
    dashboard = serve(fakes, routes)
    found = watcher.busy(dashboard.url, "ray-token")
    assert (found is None) if expected is None else (found is not None and expected in found)
    assert {r["headers"].get("Authorization") for r in dashboard.requests} == {"Bearer ray-token"}


def test_a_dashboard_that_is_not_up_counts_as_use() -> None:
    found = watcher.busy("http://127.0.0.1:9")  # nothing listens
    assert found is not None and found.startswith("cannot tell")


# -- the idle trigger --------------------------------------------------------------------------------------------


def test_wait_idle_stops_only_after_the_duration_unused_and_retries_a_failed_stop() -> None:
    uses = iter(["a run"] * 5)
    calls: list[float] = []
    results = iter([False, True])  # the first stop fails (the API refused): tried again at the next poll

    def stop(idle_s: float) -> bool:
        calls.append(idle_s)
        return next(results)

    start = time.monotonic()
    assert cluster_idle.wait_idle(lambda: next(uses, None), 0.3, stop, poll_s=0.02) is True
    took = time.monotonic() - start
    assert len(calls) == 2 and all(c >= 0.3 for c in calls)
    assert took >= 5 * 0.02 + 0.3  # busy for 5 polls, then idle for the whole duration
    assert cluster_idle.wait_idle(lambda: None, 60, stop, gone=lambda: True, poll_s=0.01) is False


def test_the_watcher_suspends_an_idle_cluster_and_never_a_busy_one(fakes: list[Fake], credentials: Path) -> None:
    api_server = serve(fakes, {CLUSTER_PATH: (200, {"kind": "RayCluster"})})
    dashboard = serve(fakes, {**IDLE_DASHBOARD, "/api/jobs/": (200, [RUNNING])})
    args = ["--cluster", "digits-ddp", "--idle-stop", "1s", "--poll", "0.05", "--exit-after-stop"]
    args += ["--dashboard", dashboard.url, "--api", api_server.url, "--credentials", str(credentials)]
    done = threading.Thread(target=watcher.main, args=(args,), daemon=True)
    done.start()
    time.sleep(1.5)  # a job runs longer than the idle time: no patch
    assert [r["method"] for r in api_server.requests] == ["GET"]  # the start-up check of its rights only
    dashboard.routes.update(IDLE_DASHBOARD)  # the job ended
    ended = time.monotonic()
    done.join(10)
    assert not done.is_alive()
    patch = api_server.requests[-1]
    assert patch["method"] == "PATCH" and patch["path"] == CLUSTER_PATH
    assert time.monotonic() - ended >= 1.0 - 0.1  # idle from its last look at the running job (a poll before)
    annotation = json.loads(patch["body"])["metadata"]["annotations"]["raydt/stopped"]
    assert annotation.startswith("idle 1s since ") and "no job, driver or Serve application" in annotation


def test_the_watcher_command_runs_as_the_manifest_writes_it(fakes: list[Fake], credentials: Path) -> None:
    """The head pod's command, with this Python for the image's ``python``: its help, then a dry run."""
    (command,) = [
        c["command"] for c in head_pod(manifests()["RayCluster"])["containers"] if c["name"] == idle.CONTAINER
    ]
    assert command[0] == "python"
    argv = [sys.executable, *command[1:]]
    helped = subprocess.run([*argv, "--help"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert helped.returncode == 0 and "--idle-stop" in helped.stdout, helped.stderr
    dashboard = serve(fakes, IDLE_DASHBOARD)
    extra = ["--dry-run", "--dashboard", dashboard.url, "--api", "https://10.96.0.1:443"]
    ran = subprocess.run(
        [*argv, *extra, "--credentials", str(credentials)], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    seen = json.loads(ran.stdout)
    assert seen["busy"] is None and seen["after"] == 1800.0
    assert seen["whenIdle"]["url"] == "https://10.96.0.1:443" + CLUSTER_PATH
    assert seen["whenIdle"]["body"]["spec"] == {"suspend": True}
