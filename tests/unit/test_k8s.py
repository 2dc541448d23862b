"""``raydt k8s`` / ``raydt.k8s_manifests``: every manifest validated against KubeRay's own CRDs (``ray.io/v1`` RayJob
and RayCluster from KubeRay's repository, see ``kuberay_schema``), sized from the spec, and the spec inside the
ConfigMap valid for ``raydt validate``. No cluster, no Ray, no network."""

from __future__ import annotations

import ast
import copy
import json
import math
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml

import raydt
from raydt import k8s
from raydt.errors import OptionError, SpecError
from raydt.k8s import options, sizing
from tests.conftest import FIXTURES, ROOT
from tests.unit import kuberay_schema

S3 = "s3://bucket/raydt"
IMAGE = "registry.example.com/ml/raydt:0.1.0"  # an image with raydt in it (raydt k8s --dockerfile writes its build)
WHEEL = "ray-distributed-trainer[pytorch] @ https://files.example.com/ray_distributed_trainer-0.1.0-py3-none-any.whl"
CPU_TRAIN = {
    "mode": "train",
    "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 1}},
    "trainConfig": {"framework": "pytorch", "epochs": 3},
    "runConfig": {"name": "digits-ddp"},
}


def docs(spec: dict[str, Any], **flags: Any) -> list[dict[str, Any]]:
    """The manifests, each asserted valid (its schema, then KubeRay's controller rules)."""
    out = raydt.k8s_manifests(spec, **{"storage": S3, "image": IMAGE, **flags})
    assert [d["kind"] for d in out] == ["ConfigMap", "RayCluster" if flags.get("cluster") else "RayJob"]
    for doc in out:
        kuberay_schema.check(doc)
    return out


def cluster_of(doc: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = doc["spec"]["rayClusterSpec"] if doc["kind"] == "RayJob" else doc["spec"]
    return spec


def workers(doc: dict[str, Any]) -> dict[str, Any]:
    groups = cluster_of(doc)["workerGroupSpecs"]
    assert len(groups) == 1
    group: dict[str, Any] = groups[0]
    return group


def container(pod_group: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = pod_group["template"]["spec"]["containers"][0]
    return found


def pods_spec(cm: dict[str, Any], tmp_path: Path, main: dict[str, Any] | None = None) -> Path:
    """The ConfigMap's files written out as a pod sees them (/raydt, by the volume's items): its spec.json."""
    return kuberay_schema.extract([cm, main or docs(CPU_TRAIN)[1]], tmp_path / "raydt")


# -- the validator is real ---------------------------------------------------------------------------------------


def test_the_crd_validator_refuses_what_the_api_server_would() -> None:
    job = copy.deepcopy(docs(CPU_TRAIN)[1])
    spec = job["spec"]
    spec["shutdownAfterJobsFinish"] = True  # misspelled: pruned / refused
    spec["ttlSecondsAfterFinished"] = "300"  # wrong type
    spec["managedBy"] = "someone"  # a field guarded by CEL rules
    head = spec["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    head["containers"].append(copy.deepcopy(head["containers"][0]))  # list-map key 'name' repeated
    container(workers(job))["resources"]["limits"]["memory"] = "4GB"  # not a Kubernetes quantity
    container(workers(job))["ports"] = [{"containerPort": 2**40}]  # int32
    job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] = "Not A Label!"
    errors = "\n".join(kuberay_schema.schema_errors(job))
    for needle in (
        "'shutdownAfterJobsFinish' was unexpected",
        "spec.ttlSecondsAfterFinished: '300' is not of type 'integer'",
        "spec.managedBy: a field with CEL rules",
        "containers: list-map keys ['name'] must be unique",
        "limits.memory: '4GB' does not match",
        "containerPort: 1099511627776 is not a 'int32'",
        "metadata.labels.kueue.x-k8s.io/queue-name: 'Not A Label!' does not match",
    ):
        assert needle in errors, (needle, errors)
    workers(job)["replicas"] = 9
    job["metadata"]["name"] = "x" * 48
    rules = kuberay_schema.kuberay_rules(job)
    assert any("minReplicas <= replicas <= maxReplicas" in r for r in rules)
    assert any("at most 47 characters" in r for r in rules)


def test_the_validator_reads_the_served_v1_schemas_of_both_crds() -> None:
    for kind in ("RayJob", "RayCluster"):
        root = kuberay_schema.schema(kind)
        assert root["properties"]["kind"] == {"const": kind}
        assert "workerGroupSpecs" in json.dumps(root)
    with pytest.raises(AssertionError, match="not served"):
        kuberay_schema.schema("RayJob", "v2")


# -- sizing from the spec ----------------------------------------------------------------------------------------


def test_cpu_train_spec_becomes_a_rayjob_with_one_pod_per_worker(tmp_path: Path) -> None:
    cm, job = docs(CPU_TRAIN)
    spec = job["spec"]
    assert job["metadata"]["name"] == "digits-ddp" and cm["metadata"]["name"] == "digits-ddp-spec"
    assert spec["entrypoint"] == "python -m raydt run /raydt/spec.json"
    assert "runtimeEnvYAML" not in spec  # the image has raydt: nothing to install
    assert spec["shutdownAfterJobFinishes"] is True and spec["ttlSecondsAfterFinished"] == 300
    assert spec["submitterConfig"] == {"backoffLimit": 2} and "activeDeadlineSeconds" not in spec
    cluster = cluster_of(job)
    assert cluster["rayVersion"] == "2.60.0" and cluster["authOptions"] == {"mode": "token"}
    assert "enableInTreeAutoscaling" not in cluster
    group = workers(job)
    assert (group["replicas"], group["minReplicas"], group["maxReplicas"]) == (2, 2, 2)
    assert group["rayStartParams"] == {"num-cpus": "1"}
    resources = container(group)["resources"]
    assert resources["requests"] == resources["limits"] == {"cpu": "1", "memory": "4Gi"}
    assert container(group)["image"] == IMAGE
    head = cluster["headGroupSpec"]
    assert head["rayStartParams"] == {"num-cpus": "0"}
    mount = {"name": "raydt-spec", "mountPath": "/raydt", "subPath": "raydt", "readOnly": True}
    items = [{"key": "spec.json", "path": "raydt/spec.json"}]
    volume = {"name": "raydt-spec", "configMap": {"name": "digits-ddp-spec", "items": items}}
    for pods in (head, group):  # every pod: the workers import the user's code from there too
        assert container(pods)["volumeMounts"] == [mount]
        assert pods["template"]["spec"]["volumes"] == [volume]
    inner = json.loads(cm["data"]["spec.json"])
    assert inner["runConfig"] == {"name": "digits-ddp", "storagePath": S3}
    assert raydt.validate(str(pods_spec(cm, tmp_path, job))).mode == "train"


def test_default_image_matches_ray_and_python() -> None:
    import sys

    tag = f"py{sys.version_info.major}{sys.version_info.minor}"
    assert options.default_image(False) == f"rayproject/ray:2.60.0-{tag}"
    assert options.default_image(True) == f"rayproject/ray:2.60.0-{tag}-gpu"
    assert options.RAY_VERSION == metadata.version("ray")
    assert f'"ray[default,train,tune,serve]=={options.RAY_VERSION}"' in (ROOT / "pyproject.toml").read_text()


def test_gpu_spec_gets_gpu_image_and_nvidia_gpus_as_a_raycluster() -> None:
    spec = {
        "mode": "train",
        "config": {"numWorkers": 3, "useGpu": True, "resourcesPerWorker": {"cpu": 4, "gpu": 2, "memoryGb": 16}},
        "runConfig": {"name": "gpu-run"},
        "k8sConfig": {"pip": [WHEEL]},  # Ray's default image, raydt from a wheel
    }
    for cluster in (False, True):
        main = docs(spec, cluster=cluster, image=None)[1]
        group = workers(main)
        res = container(group)["resources"]
        ray_memory = 16e9
        memory = math.ceil((ray_memory + 2**29) / 0.7 / 2**20)
        assert res["limits"] == res["requests"] == {"cpu": "4", "memory": f"{memory}Mi", "nvidia.com/gpu": "2"}
        assert group["replicas"] == 3 and group["rayStartParams"]["num-cpus"] == "4"
        assert container(group)["image"].endswith("-gpu")
        assert "nvidia.com/gpu" not in container(cluster_of(main)["headGroupSpec"])["resources"]["limits"]
    assert (
        main["kind"] == "RayCluster"
        and "python -m raydt run /raydt/spec.json" in main["metadata"]["annotations"]["raydt/submit"]
    )
    assert container(workers(main))["image"] == options.default_image(True)
    assert "https://files.example.com/" in main["metadata"]["annotations"]["raydt/submit"]


def test_elastic_workers_become_an_autoscaling_group() -> None:
    spec = {**CPU_TRAIN, "config": {"numWorkers": {"min": 1, "max": 4}}}
    job = docs(spec)[1]
    group = workers(job)
    assert (group["replicas"], group["minReplicas"], group["maxReplicas"]) == (1, 1, 4)
    assert cluster_of(job)["enableInTreeAutoscaling"] is True


def test_tune_group_holds_max_concurrent_trials_times_workers_per_trial(tmp_path: Path) -> None:
    spec = {
        "mode": "tune",
        "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 1}},
        "tuneConfig": {
            "numSamples": 8,
            "maxConcurrentTrials": 3,
            "searchSpace": {"lr": {"type": "loguniform", "min": 1e-4, "max": 0.1}},
        },
        "runConfig": {"name": "search"},
    }
    cm, job = docs(spec)
    group = workers(job)
    assert group["replicas"] == 3  # one pod per trial running at once
    # each pod holds the trial's 2 workers; the trial's own process asks for no CPU
    assert container(group)["resources"]["limits"]["cpu"] == "2"
    ray_cpus = int(group["rayStartParams"]["num-cpus"])
    per_pod = (ray_cpus - sizing.TRIAL_DRIVER_CPU * 2) // 1  # the tune runner's capacity formula
    assert per_pod * group["replicas"] // 2 == 3
    _, (issue,) = issues_of(spec, storage=S3)  # Ray's own image: raydt with the extras it needs, not installable
    assert "ray-distributed-trainer[pytorch,tune]==" in issue["rule"]  # Optuna's TPE: the [tune] extra
    assert raydt.validate(str(pods_spec(cm, tmp_path, job))).mode == "tune"


def test_single_worker_trials_default_to_a_few_pods_and_say_so() -> None:
    tune = {"numSamples": 20, "searchSpace": {"lr": {"type": "loguniform", "min": 1e-4, "max": 1e-1}}}
    spec = {"mode": "tune", "config": {}, "tuneConfig": tune, "runConfig": {"name": "many"}}
    built = k8s.build(spec, k8s.Flags(storage=S3, image=IMAGE))
    group = workers(built.documents[1])
    assert group["replicas"] == sizing.DEFAULT_CONCURRENT_TRIALS
    assert container(group)["resources"]["limits"]["cpu"] == "1"
    assert any("maxConcurrentTrials is not set" in n for n in built.notes)


def test_a_trial_driver_holds_no_cpu_in_the_runner_or_the_pods() -> None:
    tree = ast.parse((ROOT / "src/raydt/runners/tune/trials.py").read_text())
    driver = [
        ast.literal_eval(n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "TRIAL_DRIVER" for t in n.targets)
    ]
    assert len(driver) == 1 and "CPU" not in driver[0] and driver[0]["memory"] > 0
    assert sizing.TRIAL_DRIVER_CPU == 0.0


def test_quantities() -> None:
    assert [sizing.cpu_quantity(c) for c in (1, 0.5, 2.02, 0.001)] == ["1", "500m", "2020m", "1m"]
    assert [sizing.memory_quantity(b) for b in (4 << 30, (4 << 30) + 1)] == ["4Gi", "4097Mi"]


# -- storage, options, the ConfigMap -----------------------------------------------------------------------------


def test_pvc_storage_is_mounted_on_every_pod_and_shared(tmp_path: Path) -> None:
    cm, job = docs(CPU_TRAIN, storage="pvc:raydt-results")
    claim = {"name": "raydt-storage", "persistentVolumeClaim": {"claimName": "raydt-results"}}
    for group in (cluster_of(job)["headGroupSpec"], workers(job)):
        assert claim in group["template"]["spec"]["volumes"]
        assert {"name": "raydt-storage", "mountPath": "/raydt-storage"} in container(group)["volumeMounts"]
    inner = json.loads(cm["data"]["spec.json"])
    assert inner["runConfig"]["storagePath"] == "/raydt-storage" and inner["runConfig"]["sharedStorage"] is True
    raydt.validate(str(pods_spec(cm, tmp_path, job)))


def test_k8s_config_and_flags(tmp_path: Path) -> None:
    spec = {
        **CPU_TRAIN,
        "runConfig": {"name": "Digits_Run.2", "storagePath": "gs://bucket/exp"},  # a URI: no --storage needed
        "config": {"numWorkers": 2, "address": "10.0.0.1:6379"},
        "k8sConfig": {
            "namespace": "ml",
            "serviceAccount": "trainer",
            "nodeSelector": {"pool": "cpu"},
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}],
            "pip": [WHEEL, "pandas"],
            "head": {"cpu": 2, "memory": "8Gi"},
            "queue": "team-a",
            "shutdownAfterJobFinishes": False,
            "activeDeadlineSeconds": 3600,
            "submitterBackoffLimit": 0,
            "auth": "none",
        },
    }
    cm, job = raydt.k8s_manifests(spec, namespace="ml-prod")  # the flag wins over k8sConfig.namespace
    for doc in (cm, job):
        kuberay_schema.check(doc)
        assert doc["metadata"]["namespace"] == "ml-prod"
    assert job["metadata"]["name"] == "digits-run-2"  # runConfig.name made a DNS-1035 label
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "team-a"
    assert "kueue.x-k8s.io/queue-name" not in cm["metadata"]["labels"]
    s = job["spec"]
    assert s["shutdownAfterJobFinishes"] is False and "ttlSecondsAfterFinished" not in s
    assert s["activeDeadlineSeconds"] == 3600 and s["submitterConfig"] == {"backoffLimit": 0}
    assert yaml.safe_load(s["runtimeEnvYAML"]) == {"pip": [WHEEL, "pandas"]}
    assert "authOptions" not in cluster_of(job)
    for group in (cluster_of(job)["headGroupSpec"], workers(job)):
        pod = group["template"]["spec"]
        assert pod["serviceAccountName"] == "trainer" and pod["nodeSelector"] == {"pool": "cpu"}
        assert pod["tolerations"] == [{"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}]
    assert container(cluster_of(job)["headGroupSpec"])["resources"]["limits"] == {"cpu": "2", "memory": "8Gi"}
    inner = json.loads(cm["data"]["spec.json"])
    assert "k8sConfig" not in inner and "address" not in inner["config"]  # the driver joins its own cluster
    assert inner["runConfig"] == {"name": "Digits_Run.2", "storagePath": "gs://bucket/exp"}
    raydt.validate(str(pods_spec(cm, tmp_path, job)))


def test_a_trainer_file_travels_in_the_configmap(tmp_path: Path) -> None:
    spec = {**CPU_TRAIN, "trainConfig": {"trainerPath": str(FIXTURES / "trainers.py") + ":report_and_checkpoint"}}
    cm, job = docs(spec, exclude=("explain*", "kuberay-crds"))
    inner = pods_spec(cm, tmp_path, job)
    assert (inner.parent / "code" / "trainers.py").read_text() == (FIXTURES / "trainers.py").read_text()
    assert json.loads(inner.read_text())["trainConfig"]["trainerPath"] == "code/trainers.py:report_and_checkpoint"
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    import os

    before = os.getcwd()
    os.chdir(elsewhere)  # resolves against the spec's folder, as in the pod (/raydt)
    try:
        assert raydt.validate(str(inner)).train_config.trainer_path == "code/trainers.py:report_and_checkpoint"
    finally:
        os.chdir(before)


def test_run_ignores_k8s_config() -> None:
    from raydt import plan
    from raydt.spec import loader

    with_k8s = loader.load({**CPU_TRAIN, "k8sConfig": {"image": "my/image:1", "queue": "q"}})
    without = loader.load(CPU_TRAIN)
    assert plan.train(with_k8s) == plan.train(without)
    from raydt.experiment import differences

    assert differences({**CPU_TRAIN, "k8sConfig": {"queue": "a"}}, {**CPU_TRAIN, "k8sConfig": {"queue": "b"}}) == []


def test_schema_input_documents_k8s_config() -> None:
    from raydt.spec.schemas import input_schema

    schema = input_schema()
    assert "k8sConfig" in schema["properties"]
    props = schema["$defs"]["K8sConfig"]["properties"]
    for key in ("image", "namespace", "serviceAccount", "nodeSelector", "tolerations", "pip", "storage", "queue"):
        assert props[key]["description"], key


# -- bad combinations: clear errors ------------------------------------------------------------------------------


def issues_of(spec: dict[str, Any], **flags: Any) -> tuple[str, list[dict[str, Any]]]:
    with pytest.raises(SpecError) as caught:
        raydt.k8s_manifests(spec, **flags)
    return caught.value.code, [i.to_dict() for i in caught.value.issues]


def test_local_storage_for_a_multi_pod_job_is_a_spec_error() -> None:
    spec = {**CPU_TRAIN, "runConfig": {"storagePath": "/mnt/results", "sharedStorage": True}}
    code, issues = issues_of(spec, image=IMAGE)
    assert code == "SPEC_INVALID"
    (issue,) = issues
    assert issue["path"] == "runConfig.storagePath" and issue["value"] == "/mnt/results"
    assert "several pods" in issue["rule"] and "sharedStorage cannot mount it" in issue["rule"]
    assert "--storage" in issue["hint"] and "pvc:" in issue["hint"]
    code, (issue,) = issues_of(CPU_TRAIN, storage="./results", image=IMAGE)
    assert (code, issue["path"]) == ("USAGE", "--storage")


def test_gpu_spec_with_a_cpu_image_is_an_error_at_where_the_image_came_from() -> None:
    gpu = {**CPU_TRAIN, "config": {"numWorkers": 2, "useGpu": True}}
    gpu["k8sConfig"] = {"pip": [WHEEL]}
    code, (issue,) = issues_of(gpu, storage=S3, image="rayproject/ray:2.60.0-py311")
    assert (code, issue["path"]) == ("USAGE", "--image")
    assert "config.useGpu is true" in issue["rule"] and "-gpu" in issue["hint"]
    old_image = {"image": "rayproject/ray:2.59.0-py310-cpu", "pip": [WHEEL]}
    code, issues = issues_of({**gpu, "k8sConfig": old_image}, storage=S3)
    assert code == "SPEC_INVALID"
    rules = {i["rule"].split(":")[0] for i in issues if i["path"] == "k8sConfig.image"}
    assert rules == {
        "runs Ray 2.59.0, but raydt runs on Ray 2.60.0",
        "has Python 3.10; raydt needs Python >= 3.11",
        "is a CPU image, but config.useGpu is true",
    }
    assert raydt.k8s_manifests(gpu, storage=S3, image="rayproject/ray:2.60.0-py312-cu128")  # a CUDA tag


def test_every_problem_at_once_with_paths(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("x,y\n1,0\n2,1\n3,0\n4,1\n")
    spec = {
        **CPU_TRAIN,
        "runConfig": {"name": "r"},
        "trainConfig": {"resumeFromCheckpoint": str(tmp_path)},
        "dataConfig": {"train": {"format": "csv", "paths": str(tmp_path / "train.csv"), "label": "y"}},
        "serveConfig": {"port": 8100},
    }
    code, issues = issues_of(spec, name="Bad_Name", queue="Team A", image=IMAGE)
    assert code == "SPEC_INVALID"  # spec problems among them: not only options
    paths = {i["path"] for i in issues}
    assert paths >= {"--name", "--queue", "runConfig.storagePath", "trainConfig.resumeFromCheckpoint", "serveConfig"}
    assert "dataConfig.train.paths" in paths
    name = next(i for i in issues if i["path"] == "--name")
    assert name["value"] == "Bad_Name" and name["hint"] == "e.g. 'bad-name'."


def test_k8s_config_rules_beyond_its_types() -> None:
    tolerations = [{"key": "a", "operator": "Exists", "value": "x"}, {"value": "y"}]
    code, issues = issues_of({**CPU_TRAIN, "k8sConfig": {"tolerations": tolerations}}, storage=S3, image=IMAGE)
    assert code == "SPEC_INVALID"
    assert {i["path"] for i in issues} == {"k8sConfig.tolerations.0.value", "k8sConfig.tolerations.1.operator"}


def test_the_experiment_is_named_after_the_job_when_the_spec_names_none() -> None:
    cm, job = raydt.k8s_manifests({"mode": "train", "config": {}}, storage=S3, name="nightly", image=IMAGE)
    assert json.loads(cm["data"]["spec.json"])["runConfig"]["name"] == "nightly"
    assert job["metadata"]["annotations"]["raydt/experiment"] == "nightly"
    cm, job = raydt.k8s_manifests({"mode": "train", "config": {}}, storage=S3, image=IMAGE)
    assert job["metadata"]["name"].startswith("raydt-train-")  # the plan's default name, a new experiment
    assert json.loads(cm["data"]["spec.json"])["runConfig"]["name"] == job["metadata"]["name"]


def test_modes_that_train_nothing_are_refused() -> None:
    code, (issue,) = issues_of({"mode": "cluster", "config": {}}, storage=S3)
    assert (code, issue["path"], issue["value"]) == ("SPEC_INVALID", "mode", "cluster")


def test_option_error_is_usage_with_exit_2() -> None:
    err = OptionError([])
    assert (err.code, err.exit_code) == ("USAGE", 2)
