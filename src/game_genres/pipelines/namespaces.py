"""One copy of a template pipeline per backbone, each in the backbone's namespace."""

from __future__ import annotations

from collections.abc import Iterable

from kedro.pipeline import Pipeline, pipeline


def per_backbone(
    template: Pipeline, backbones: Iterable[str], shared_inputs: Iterable[str], shared_parameter: str, tag: str
) -> Pipeline:
    """Instantiate ``template`` once per backbone key (for example ``mobilenetv2``).

    Each copy lives in the namespace named after the key, so it reads
    ``params:<key>.backbone`` and writes ``<key>.<output>``. The datasets in
    ``shared_inputs`` and the parameter ``params:<shared_parameter>`` keep
    their names, so every copy reads the same ones.
    """
    result = Pipeline([])
    for key in backbones:
        result += pipeline(
            template,
            namespace=key,
            inputs={name: name for name in shared_inputs},
            parameters={f"params:{shared_parameter}": f"params:{shared_parameter}"},
            tags=[tag, key],
        )
    return result
