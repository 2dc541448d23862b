"""How the pods get raydt. No package index has ``ray-distributed-trainer``, and a ``rayproject/ray`` image is Ray
without raydt, so a manifest on such an image needs ``k8sConfig.pip`` naming what pip can fetch there (a wheel URL,
or the package with an index entry); else an image with raydt in it: ``--dockerfile DIR`` writes its build (FROM the
matching ``rayproject/ray`` image, with raydt's own package and the requirements of the extras the spec needs), built
and pushed as ``--image``. Another image without ``k8sConfig.pip`` is taken to have raydt, and a note says so; what
cannot install (the bare package name, a local file, nothing on a rayproject image) is refused with these ways out.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from raydt import __version__, plan
from raydt.errors import SpecIssue
from raydt.k8s import options as k8s_options
from raydt.registry import SCHEDULERS, SEARCHERS
from raydt.spec.loader import LoadedSpec

PACKAGE = "ray-distributed-trainer"
WHEEL = f"ray_distributed_trainer-{__version__}-py3-none-any.whl"
_NAMED = re.compile(r"^\s*ray[-_.]distributed[-_.]trainer\s*(\[[^\]]*\])?\s*(?P<rest>.*)$", re.IGNORECASE)
_INDEX = ("--index-url", "-i", "--extra-index-url", "--find-links", "-f")


@dataclass(frozen=True)
class Install:
    """The runtime environment's pip packages, what the user must know, and the image build (``--dockerfile``)."""

    pip: list[str]
    notes: tuple[str, ...] = ()
    build: dict[str, bytes] | None = None  # path in the build folder -> content


def extras(the_plan: plan.TrainPlan | plan.TunePlan, loaded: LoadedSpec) -> list[str]:
    """raydt's extras the spec needs: the framework's, the searcher's and scheduler's, tracking, report and notify."""
    train = the_plan.train if isinstance(the_plan, plan.TunePlan) else the_plan
    found = {train.framework.extra}
    if isinstance(the_plan, plan.TunePlan):
        used = (SEARCHERS[the_plan.searcher], SCHEDULERS[the_plan.scheduler])
        found |= {info.extra for info in used if info.modules}
    run_config = loaded.spec.run_config
    if run_config.tracking is not None:
        found.add("tracking")
    if run_config.report:
        found.add("report")
    if run_config.notify:  # the messages are sent by the job's driver, in the pods
        found.add("notify")
    return sorted(found)


def requirement(names: list[str]) -> str:
    """raydt with these extras, as pip names it."""
    return f"{PACKAGE}[{','.join(names)}]=={__version__}"


def resolve(opts: k8s_options.Options, names: list[str], use_gpu: bool) -> tuple[Install, list[SpecIssue]]:
    """The pip packages of the job's runtime environment, or why none would install raydt in the pods."""
    ray_image = k8s_options.is_ray_image(opts.image)
    folder = opts.flags.dockerfile
    issues: list[SpecIssue] = []
    notes: list[str] = []
    build = None
    if folder is not None:
        if ray_image:
            rule = "needs --image naming the image you build from it and push (a rayproject/ray image has no raydt)"
            issues.append(SpecIssue("--dockerfile", rule, folder, "e.g. --image registry.example.com/ml/raydt:0.1.0"))
        else:
            build, problem = image_build(names, use_gpu, opts.image, folder)
            issues += (
                [SpecIssue("--dockerfile", problem, folder, "Install raydt (pip install -e .).")] if problem else []
            )
            notes.append(
                f"build and push the image first: docker build -t {opts.image} {folder} && docker push {opts.image}"
            )
    pip = opts.config.pip
    if pip is not None:
        issues += pip_issues(list(pip), ray_image, names, use_gpu)
    elif ray_image:
        rule = (
            f"is not set, and {opts.image} has no raydt: the default would pip-install {requirement(names)}, "
            "which no package index has"
        )
        issues.append(SpecIssue("k8sConfig.pip", rule, None, hint(names, use_gpu)))
    elif folder is None:
        notes.append(
            f"{opts.image} must have raydt {__version__} with the extras [{','.join(names)}] installed (no "
            "k8sConfig.pip: nothing is installed in the pods); --dockerfile DIR writes such an image's build"
        )
    return Install(list(pip or []), tuple(notes), build), issues


def hint(names: list[str], use_gpu: bool) -> str:
    """The ways to get raydt into the pods."""
    return (
        f"Build an image with raydt: raydt k8s SPEC --image REGISTRY/raydt:{__version__} --dockerfile DIR writes its "
        f"Dockerfile (FROM {k8s_options.default_image(use_gpu)}, raydt and its extras [{','.join(names)}]); or set "
        f"k8sConfig.pip to a wheel every pod can fetch: ['{PACKAGE}[{','.join(names)}] @ https://HOST/{WHEEL}'] "
        "(python -m build --wheel in raydt's repository makes it), or add your index as an entry "
        "('--extra-index-url https://HOST/simple')."
    )


def pip_issues(pip: list[str], ray_image: bool, names: list[str], use_gpu: bool) -> list[SpecIssue]:
    """Entries of ``k8sConfig.pip`` that cannot install in the pods."""
    issues = []
    if not pip and ray_image:
        rule = "is [] (installs nothing), but the image is a rayproject/ray image, which has no raydt"
        issues.append(SpecIssue("k8sConfig.pip", rule, pip, hint(names, use_gpu)))
    indexed = any(entry.strip().startswith(_INDEX) for entry in pip)
    for i, entry in enumerate(pip):
        named = _NAMED.match(entry)
        if _local(entry):
            hint_text = "Use a URL every pod can fetch (https://...), or build an image (--dockerfile)."
            issues.append(SpecIssue(f"k8sConfig.pip.{i}", "is a local file the pods lack", entry, hint_text))
        elif named and not named["rest"].lstrip().startswith("@") and not indexed:
            rule = f"names {PACKAGE} on pip's default index, which does not have it"
            issues.append(SpecIssue(f"k8sConfig.pip.{i}", rule, entry, hint(names, use_gpu)))
    return issues


def _local(entry: str) -> bool:
    text = entry.strip()
    if text.startswith(("-e ", "--editable")):
        text = text.split(None, 1)[-1]
    elif text.startswith("-"):
        return False
    text = text.split(" @ ", 1)[1].strip() if " @ " in text else text
    if "://" in text:
        return text.startswith("file://")
    return text.startswith(("/", "./", "../", "~")) or text.endswith((".whl", ".tar.gz", ".zip"))


def image_build(names: list[str], use_gpu: bool, image: str, folder: str) -> tuple[dict[str, bytes], str]:
    """The image build folder's files (a Dockerfile, the requirements of raydt with ``names``, raydt's own
    package), or why it cannot be written."""
    try:
        requirements = _requirements(names)
    except metadata.PackageNotFoundError:
        return {}, f"cannot list raydt's requirements: {PACKAGE} is not installed (no package metadata)"
    source = Path(__file__).resolve().parents[1]
    files = {f"raydt/{p.relative_to(source).as_posix()}": p.read_bytes() for p in _package_files(source)}
    major, minor = sys.version_info[:2]
    dockerfile = f"""\
# The image of raydt k8s manifests: Ray {k8s_options.RAY_VERSION} on Python {major}.{minor}, raydt {__version__}
# with the extras [{",".join(names)}]. Written by `raydt k8s --dockerfile`; build it as the manifests' --image:
#   docker build -t {image} {folder} && docker push {image}
FROM {k8s_options.default_image(use_gpu)}
COPY --chown=1000:100 requirements.txt /tmp/raydt-build/requirements.txt
RUN pip install --no-cache-dir -r /tmp/raydt-build/requirements.txt
COPY --chown=1000:100 raydt /tmp/raydt-build/raydt
RUN cp -r /tmp/raydt-build/raydt "$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/" \\
    && rm -rf /tmp/raydt-build && python -m raydt --version
"""
    text = "\n".join([f"# {requirement(names)}: what raydt needs with these extras", *requirements]) + "\n"
    return {"Dockerfile": dockerfile.encode(), "requirements.txt": text.encode(), **files}, ""


def _requirements(names: list[str]) -> list[str]:
    """raydt's installed requirements with ``names`` as extras, markers evaluated (its own 'all' left out)."""
    from packaging.requirements import Requirement

    out = []
    for line in metadata.requires(PACKAGE) or []:
        req = Requirement(line)
        wanted = req.marker is None or any(req.marker.evaluate({"extra": name}) for name in names)
        if wanted and req.name != PACKAGE:
            req.marker = None
            out.append(str(req))
    return list(dict.fromkeys(out))


def _package_files(source: Path) -> list[Path]:
    from raydt.jobs import package

    return [path for path, _ in package.walk(source, package.DEFAULT_EXCLUDES)]


def write(build: dict[str, bytes], folder: str) -> Path:
    """The build folder written (``OSError`` when it cannot be); its Dockerfile's path."""
    root = Path(folder).expanduser().resolve()
    for name, content in build.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return root / "Dockerfile"
