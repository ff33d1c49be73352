"""docs/kserve/inference_service.yaml against KServe's own API model classes.

No cluster is at hand, so the manifest is checked as far as this machine allows: every
field, at every depth, is one that KServe's generated `V1beta1InferenceService` classes (and
the Kubernetes classes they use) know, with a value of the type they declare; and the
container runs `zoo serve` on the port it declares."""

import re
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")
pytest.importorskip("kserve", reason="needs the serve extra: pip install -e .[serve]")

MANIFEST = Path(__file__).resolve().parents[2] / "docs" / "kserve" / "inference_service.yaml"
PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float), "object": object}


def model_class(name: str):
    import kserve.models
    import kubernetes.client.models

    for module in (kserve.models, kubernetes.client.models):
        if hasattr(module, name):
            return getattr(module, name)
    raise AssertionError(f"no API class {name}")


def problems(value, type_name: str, path: str) -> list[str]:
    """What in `value` does not fit the API type `type_name` (a generated class's name,
    `list[T]`, `dict(str, T)` or a primitive)."""
    if match := re.fullmatch(r"(?:list|List)\[(.+)\]", type_name):
        if not isinstance(value, list):
            return [f"{path}: a list expected"]
        return [p for i, item in enumerate(value) for p in problems(item, match[1], f"{path}[{i}]")]
    if match := re.fullmatch(r"dict\(str, (.+)\)|Dict\[str, (.+)\]", type_name):
        if not isinstance(value, dict):
            return [f"{path}: a mapping expected"]
        inner = match[1] or match[2]
        return [p for k, item in value.items() for p in problems(item, inner, f"{path}.{k}")]
    if type_name in PRIMITIVES:
        ok = isinstance(value, PRIMITIVES[type_name]) and not (
            type_name == "int" and isinstance(value, bool)
        )
        return [] if ok else [f"{path}: {type_name} expected, got {value!r}"]
    klass = model_class(type_name)
    if not isinstance(value, dict):
        return [f"{path}: an object ({type_name}) expected"]
    by_json_name = {json_name: attr for attr, json_name in klass.attribute_map.items()}
    found = []
    for key, item in value.items():
        if key not in by_json_name:
            found.append(f"{path}.{key}: not a field of {type_name}")
            continue
        found += problems(item, klass.openapi_types[by_json_name[key]], f"{path}.{key}")
    return found


def manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text("utf-8"))


def test_the_manifest_fits_kserve_s_inference_service_classes():
    assert problems(manifest(), "V1beta1InferenceService", "") == []
    assert manifest()["apiVersion"] == "serving.kserve.io/v1beta1"
    assert manifest()["kind"] == "InferenceService"


def test_the_checker_finds_a_misspelt_field_and_a_wrong_type():
    wrong = manifest()
    wrong["spec"]["predictor"]["minReplica"] = 1
    wrong["spec"]["predictor"]["containers"][0]["ports"][0]["containerPort"] = "8080"
    assert problems(wrong, "V1beta1InferenceService", "") == [
        ".spec.predictor.containers[0].ports[0].containerPort: int expected, got '8080'",
        ".spec.predictor.minReplica: not a field of V1beta1PredictorSpec",
    ]


def test_the_container_runs_zoo_serve_on_its_declared_port():
    from zoo.cli import parser

    container = manifest()["spec"]["predictor"]["containers"][0]
    arguments = parser().parse_args(container["args"])
    assert arguments.command == "serve"
    assert arguments.port == container["ports"][0]["containerPort"] == 8080
    probe = container["readinessProbe"]["httpGet"]
    assert probe["port"] == 8080
    assert probe["path"] == f"/v1/models/{arguments.model_name[0]}"
