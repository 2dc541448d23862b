"""``raydt k8s`` manifests that run as written: the user's code folder travels in the ConfigMap and every pod finds it
where the shipped spec points; raydt itself comes from an image the manifests name (``--dockerfile`` writes its
build) or from what ``k8sConfig.pip`` can fetch; what cannot install is refused. No cluster, no Ray, no network:
the pods' view is rebuilt from the manifests (``kuberay_schema.extract``) and checked with the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import raydt
from raydt.cli import main
from raydt.errors import OptionError, SpecError
from raydt.k8s import options
from tests.conftest import ROOT, run_cli
from tests.unit import kuberay_schema

S3 = "s3://bucket/raydt"
IMAGE = "registry.example.com/ml/raydt:0.1.0"
#: examples/predict.yaml is left out: raydt k8s runs train and tune specs only (mode predict is refused), and it
#: validates only once `make run` has written the experiment it names (tests/unit/test_predict_plan.py checks it)
EXAMPLES = sorted(
    p for p in (ROOT / "examples").rglob("*") if p.suffix in (".yaml", ".json") and p.name != "predict.yaml"
)


def k8s(capsys: pytest.CaptureFixture[str], spec: Path, out: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """``raydt k8s SPEC --out OUT ARGS``: the exit code and the JSON summary."""
    code = main(["k8s", str(spec), "--out", str(out), *args])
    return code, json.loads(capsys.readouterr().out)


def pods_view(manifest_file: Path, folder: Path) -> Path:
    """Every document checked against its schema, then what the pods see at /raydt written into ``folder``."""
    documents = list(yaml.safe_load_all(manifest_file.read_text()))
    for doc in documents:
        kuberay_schema.check(doc)
    return kuberay_schema.extract(documents, folder)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT / "examples")))
def test_every_example_validates_from_what_its_manifests_ship(
    example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, summary = k8s(capsys, example, tmp_path / "job.yaml", "--storage", S3, "--image", IMAGE)
    assert code == 0, summary
    spec = pods_view(tmp_path / "job.yaml", tmp_path / "pod")
    elsewhere = tmp_path / "cwd"  # not the spec's folder: the pod's working directory is not /raydt
    elsewhere.mkdir()
    checked = run_cli("validate", str(spec), cwd=elsewhere)
    assert (checked.code, checked.out.get("valid")) == (0, True), checked.out
    shipped = json.loads(spec.read_text())
    refs = [shipped.get("trainConfig", {}).get(k) for k in ("model", "data", "postprocess", "trainerPath")]
    for ref in filter(None, refs):  # every code path of the pods' spec is a file of the ConfigMap
        assert ref.startswith("code/") and (spec.parent / ref.rpartition(":")[0]).is_file(), ref


def _project(tmp_path: Path) -> Path:
    """A trainer importing a sibling module, a binary file beside it, and what must not travel."""
    project = tmp_path / "project"
    (project / "lib").mkdir(parents=True)
    (project / ".git").mkdir()
    (project / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (project / "helper.py").write_text("def scale(x):\n    return 2 * x\n")
    (project / "lib" / "weights.bin").write_bytes(bytes(range(256)))
    (project / "outputs.csv").write_text("a,b\n" * 10)
    (project / "train.py").write_text(
        "from helper import scale\n\n\ndef train(config):\n    return scale(config['x'])\n"
    )
    specs = tmp_path / "specs"
    specs.mkdir()
    spec = {
        "mode": "train",
        "config": {"numWorkers": 1},
        "trainConfig": {"trainerPath": "../project/train.py:train"},
        "runConfig": {"name": "siblings"},
    }
    (specs / "spec.yaml").write_text(yaml.safe_dump(spec))
    return specs / "spec.yaml"


def test_the_code_folder_travels_and_a_sibling_import_works_in_the_pods(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_file = _project(tmp_path)
    code, summary = k8s(
        capsys, spec_file, tmp_path / "job.yaml", "--storage", S3, "--image", IMAGE, "--exclude", "*.csv"
    )
    assert code == 0, summary
    assert any("restored at /raydt/code on every pod" in w for w in summary["warnings"])
    spec = pods_view(tmp_path / "job.yaml", tmp_path / "pod")
    folder = spec.parent / "code"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "helper.py",
        "lib/weights.bin",  # not UTF-8: binaryData, restored byte for byte
        "train.py",
    ]
    assert (folder / "lib" / "weights.bin").read_bytes() == bytes(range(256))
    assert json.loads(spec.read_text())["trainConfig"]["trainerPath"] == "code/train.py:train"
    # a worker: PYTHONPATH as raydt gives it (the code's folders, resolved from the pods' spec), then the trainer
    worker = (
        "import json, sys\n"
        "from raydt import paths, ray_session, trainer_ref\n"
        "from raydt.spec import loader\n"
        f"loaded = loader.load({str(spec)!r})\n"
        "print(json.dumps(ray_session.code_env(paths.code_folders(loaded.raw, loaded.base_dirs))))\n"
    )
    env_out = subprocess.run([sys.executable, "-c", worker], capture_output=True, text=True, cwd=tmp_path, check=True)
    pythonpath = json.loads(env_out.stdout)["PYTHONPATH"]
    assert pythonpath.split(os.pathsep)[0] == str(folder)
    ref = str(folder / "train.py:train")
    call = f"from raydt import trainer_ref\nprint(trainer_ref.load(trainer_ref.parse({ref!r}))({{'x': 21}}))"
    env = {**os.environ, "PYTHONPATH": pythonpath}
    ran = subprocess.run([sys.executable, "-c", call], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert ran.stdout.strip() == "42", ran.stderr


def test_a_code_folder_over_a_configmap_is_refused_with_its_biggest_entries(tmp_path: Path) -> None:
    spec_file = _project(tmp_path)
    (spec_file.parent.parent / "project" / "data").mkdir()
    (spec_file.parent.parent / "project" / "data" / "big.txt").write_text("0123456789\n" * 110_000)
    with pytest.raises(OptionError) as caught:
        raydt.k8s_manifests(str(spec_file), storage=S3, image=IMAGE)
    (issue,) = caught.value.issues
    assert issue.path == "--working-dir" and issue.value == str(tmp_path / "project")
    assert "under 1000000 bytes" in issue.rule and "biggest entries: data (1.2 MiB)" in issue.rule
    assert "--exclude" in issue.hint and "image" in issue.hint
    assert raydt.k8s_manifests(str(spec_file), storage=S3, image=IMAGE, exclude=("data",))
    with pytest.raises(OptionError) as caught:  # a pattern that hits the code itself
        raydt.k8s_manifests(str(spec_file), storage=S3, image=IMAGE, exclude=("data", "train.*"))
    (issue,) = caught.value.issues
    assert (issue.path, issue.rule) == ("--exclude", "leaves out code/train.py: code the spec names")


# -- raydt itself in the pods ------------------------------------------------------------------------------------

TRAIN = {"mode": "train", "config": {"numWorkers": 1}, "runConfig": {"name": "digits"}}


def issues(spec: dict[str, Any], **flags: Any) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as caught:
        raydt.k8s_manifests(spec, **{"storage": S3, **flags})
    return [(i.path, str(i)) for i in caught.value.issues]


def test_a_default_that_cannot_install_raydt_is_refused_with_the_ways_out(tmp_path: Path) -> None:
    ((path, text),) = issues(TRAIN)  # Ray's image, nothing that installs raydt
    assert path == "k8sConfig.pip"
    assert "ray-distributed-trainer[pytorch]==0.1.0, which no package index has" in text
    for way in ("--dockerfile DIR", "@ https://HOST/ray_distributed_trainer-0.1.0-py3-none-any.whl", "--extra-index"):
        assert way in text, way
    named = {**TRAIN, "k8sConfig": {"pip": ["ray-distributed-trainer[pytorch]==0.1.0"]}}
    assert [p for p, _ in issues(named)] == ["k8sConfig.pip.0"]
    told = {**TRAIN, "runConfig": {"name": "digits", "notify": [{"url": "json://127.0.0.1:9/h"}]}}
    assert "ray-distributed-trainer[notify,pytorch]==0.1.0" in issues(told)[0][1]  # runConfig.notify: Apprise
    for wheel in ("./dist/ray_distributed_trainer-0.1.0-py3-none-any.whl", "ray_distributed_trainer-0.1.0.tar.gz"):
        ((path, text),) = issues({**TRAIN, "k8sConfig": {"pip": [wheel]}})
        assert path == "k8sConfig.pip.0" and "a local file the pods lack" in text
    ((path, text),) = issues({**TRAIN, "k8sConfig": {"pip": []}})
    assert path == "k8sConfig.pip" and "has no raydt" in text
    indexed = ["--extra-index-url https://pypi.example.com/simple", "ray-distributed-trainer[pytorch]==0.1.0"]
    job = raydt.k8s_manifests({**TRAIN, "k8sConfig": {"pip": indexed}}, storage=S3)[1]
    assert yaml.safe_load(job["spec"]["runtimeEnvYAML"]) == {"pip": indexed}
    built = raydt.k8s.build(TRAIN, raydt.k8s.Flags(storage=S3, image=IMAGE))  # an image of the user's: taken as is
    assert "runtimeEnvYAML" not in built.documents[1]["spec"]
    assert any(f"{IMAGE} must have raydt 0.1.0 with the extras [pytorch]" in n for n in built.notes)
    refused = run_cli("k8s", "-", "--storage", S3, stdin=json.dumps(TRAIN))
    assert (refused.code, refused.out["error"]["issues"][0]["path"]) == (2, "k8sConfig.pip")


def test_dockerfile_writes_the_build_of_the_image_the_manifests_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = ROOT / "examples" / "plain-pytorch" / "tune.yaml"
    build = tmp_path / "build"
    code, summary = k8s(
        capsys, spec, tmp_path / "job.yaml", "--storage", S3, "--image", IMAGE, "--dockerfile", str(build)
    )
    assert code == 0, summary
    assert summary["manifests"]["dockerfile"] == str(build / "Dockerfile")
    assert f"docker build -t {IMAGE} {build} && docker push {IMAGE}" in summary["warnings"][0]
    dockerfile = (build / "Dockerfile").read_text()
    assert f"FROM {options.default_image(False)}\n" in dockerfile
    requirements = (build / "requirements.txt").read_text().splitlines()
    assert {"ray[default,serve,train,tune]==2.60.0", "torch==2.13.0", "optuna>=4"} <= set(requirements)
    assert not any("ray-distributed-trainer" in r for r in requirements if not r.startswith("#"))
    assert (build / "raydt" / "__init__.py").is_file() and not list(build.rglob("__pycache__"))
    job = yaml.safe_load_all((tmp_path / "job.yaml").read_text())
    assert all(IMAGE in json.dumps(d) and "runtimeEnvYAML" not in json.dumps(d) for d in job if d["kind"] == "RayJob")
    # the image's last step, against the copied package: it imports and names its version
    env = {**os.environ, "PYTHONPATH": str(build)}
    ran = subprocess.run(
        [sys.executable, "-c", "import raydt; print(raydt.__file__, raydt.__version__)"],
        capture_output=True, text=True, cwd=tmp_path, env=env, check=True,
    )  # fmt: skip
    assert ran.stdout.split() == [str(build / "raydt" / "__init__.py"), "0.1.0"]
    code, refused = k8s(capsys, spec, tmp_path / "x.yaml", "--storage", S3, "--dockerfile", str(tmp_path / "b2"))
    assert code == 2 and refused["error"]["issues"][0]["path"] == "--dockerfile"
    assert not (tmp_path / "b2").exists()


def test_a_serve_spec_is_refused_as_serve_not_for_what_serving_lacks(tmp_path: Path) -> None:
    spec = tmp_path / "serve.yaml"
    spec.write_text("mode: serve\nserveConfig: {port: 8000}\n")  # no checkpointPath / experimentPath
    out = run_cli("k8s", str(spec), "--storage", S3).out
    (issue,) = out["error"]["issues"]
    assert (issue["path"], issue["value"]) == ("mode", "serve")
    assert issue["rule"].startswith("mode serve is refused") and "raydt run" in issue["hint"]
