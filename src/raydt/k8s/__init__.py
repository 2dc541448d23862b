"""KubeRay manifests for a spec (``raydt k8s``, ``raydt.k8s_manifests``). Never imports Ray: like ``raydt validate``.

    spec --loader--> LoadedSpec --plan--> TrainPlan | TunePlan --sizing--> the worker group's pods
                         |                    |
                   options: flags > k8sConfig > defaults (name, image, storage, queue)
                   payload: the pods' spec and the code folder (code), in a ConfigMap every pod mounts
                   install: how the pods get raydt (k8sConfig.pip, or an image --dockerfile writes the build of)
                         \\--> manifest: ConfigMap + RayJob (default) or RayCluster
                              (idle: --idle-stop's RBAC and head-pod watcher, which runs watcher + suspend)

``build`` checks everything first and reports every problem at once (``SpecError``, or ``OptionError`` when
only command-line options are wrong); ``render`` writes the documents as one multi-document YAML.
"""

from raydt.k8s.generate import Manifests, build, render
from raydt.k8s.install import write as write_image_build
from raydt.k8s.options import Flags

__all__ = ["Flags", "Manifests", "build", "render", "write_image_build"]
