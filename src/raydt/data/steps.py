"""``dataConfig.preprocess`` steps over Ray Data. Fitted steps wrap Ray's own preprocessors
(``ray.data.preprocessors``), fitted on the training split only; every step also transforms a pandas
DataFrame (``transform_batch``), so serving applies the very same transform to request rows.

Imports Ray Data: loaded only for a run with ``dataConfig``.
"""

from __future__ import annotations

import sys
from typing import Any

import pandas as pd

from raydt import trainer_ref
from raydt.errors import DataError, SpecIssue
from raydt.registry import MAP_KEYS, STEPS


def numeric(t: Any) -> bool:
    """An Arrow type the trainers can take as numbers (scalars, lists/tensors of numbers)."""
    import pyarrow as pa

    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t):
        return True
    if pa.types.is_fixed_size_list(t) or pa.types.is_list(t) or pa.types.is_large_list(t):
        return numeric(t.value_type)
    scalar = getattr(t, "scalar_type", None)  # Ray's tensor extension types
    return scalar is not None and numeric(scalar)


def scalar_numeric(t: Any) -> bool:
    """One number per row (what scalers and mean imputation apply to by default)."""
    import pyarrow as pa

    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))


def columns_of(ds: Any) -> dict[str, Any]:
    """Column name -> Arrow type of a dataset."""
    schema = ds.schema()
    return dict(zip(schema.names, schema.types, strict=True))


class Step:
    """One preprocessing step: ``fit`` on the training split, then ``transform`` datasets and frames."""

    name = ""

    def __init__(self, where: str, options: dict[str, Any], label: str | None) -> None:
        self.where, self.options, self.label = where, options, label

    def fit(self, ds: Any) -> None:
        """Learn what the step needs from the training split (nothing for stateless steps)."""

    def transform(self, ds: Any, batch_size: int, concurrency: int) -> Any:
        return ds.map_batches(
            self.transform_batch, batch_format="pandas", batch_size=batch_size, concurrency=concurrency
        )

    def transform_batch(self, df: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {self.name: self.options}

    def _columns(self, ds: Any, default_numeric: bool) -> list[str]:
        """The step's columns: as given (each must exist), else the feature columns (numeric ones only
        when ``default_numeric``)."""
        found = columns_of(ds)
        given = self.options.get("columns")
        if given:
            missing = [c for c in given if c not in found]
            if missing:
                raise DataError(
                    [
                        SpecIssue(
                            f"{self.where}.columns",
                            f"no such column at this step: {', '.join(missing)}",
                            missing,
                            f"Columns here: {', '.join(found)}.",
                        )
                    ]
                )
            return list(given)
        return [c for c, t in found.items() if c != self.label and (scalar_numeric(t) or not default_numeric)]


class RayPreprocessorStep(Step):
    """A fitted step backed by one of Ray Data's preprocessors."""

    def __init__(self, where: str, options: dict[str, Any], label: str | None) -> None:
        super().__init__(where, options, label)
        self.pre: Any = None

    def build(self, columns: list[str]) -> Any:
        raise NotImplementedError

    def default_numeric(self) -> bool:
        return True

    def fit(self, ds: Any) -> None:
        columns = self._columns(ds, self.default_numeric())
        if columns:
            self.pre = self.build(columns)
            self.pre.fit(ds)

    def transform(self, ds: Any, batch_size: int, concurrency: int) -> Any:
        if self.pre is None:
            return ds
        return self.pre.transform(ds, batch_size=batch_size, concurrency=concurrency)

    def transform_batch(self, df: pd.DataFrame) -> pd.DataFrame:
        return df if self.pre is None else self.pre.transform_batch(df)

    def describe(self) -> dict[str, Any]:
        return {self.name: {**self.options, "columns": list(self.pre.columns) if self.pre is not None else []}}


class Standardize(RayPreprocessorStep):
    name = "standardize"

    def build(self, columns: list[str]) -> Any:
        from ray.data.preprocessors import StandardScaler

        return StandardScaler(columns)


class MinMaxScale(RayPreprocessorStep):
    name = "minMaxScale"

    def build(self, columns: list[str]) -> Any:
        from ray.data.preprocessors import MinMaxScaler

        return MinMaxScaler(columns)


class OneHot(RayPreprocessorStep):
    name = "oneHot"

    def default_numeric(self) -> bool:
        return False

    def build(self, columns: list[str]) -> Any:
        from ray.data.preprocessors import OneHotEncoder

        top = self.options.get("maxCategories")
        return OneHotEncoder(columns, max_categories={c: int(top) for c in columns} if top else None)


class FillNa(RayPreprocessorStep):
    name = "fillNa"

    def strategy(self) -> str:
        return str(self.options.get("strategy") or ("constant" if "value" in self.options else "mean"))

    def default_numeric(self) -> bool:
        return self.strategy() == "mean"

    def build(self, columns: list[str]) -> Any:
        from ray.data.preprocessors import SimpleImputer

        return SimpleImputer(columns, strategy=self.strategy(), fill_value=self.options.get("value"))


class DropColumns(Step):
    name = "dropColumns"

    def fit(self, ds: Any) -> None:
        self._columns(ds, False)  # each must exist

    def transform(self, ds: Any, batch_size: int, concurrency: int) -> Any:
        return ds.drop_columns(list(self.options["columns"]))

    def transform_batch(self, df: pd.DataFrame) -> pd.DataFrame:
        return df.drop(columns=list(self.options["columns"]))


class Cast(Step):
    name = "cast"

    def fit(self, ds: Any) -> None:
        self._columns(ds, False)

    def transform_batch(self, df: pd.DataFrame) -> pd.DataFrame:
        to = self.options["to"]
        df = df.copy()
        for column in self.options["columns"]:
            df[column] = df[column].astype("string" if to == "string" else to)
        return df


class MapBatches(Step):
    """The user's function (pandas DataFrame in, DataFrame out) via ``Dataset.map_batches``."""

    name = "mapBatches"

    def __init__(self, where: str, step: dict[str, Any], label: str | None, base_dirs: Any) -> None:
        key = next(k for k in MAP_KEYS if k in step)
        super().__init__(where, {"mapBatches": step[key]}, label)
        parsed = trainer_ref.parse(step[key], base_dirs)
        assert isinstance(parsed, trainer_ref.TrainerRef)  # validated by spec.data_checks
        self.fn = trainer_ref.load(parsed)
        if parsed.is_file:  # shipped to Ray Data's tasks (and into the checkpoint) by value
            from ray import cloudpickle

            cloudpickle.register_pickle_by_value(sys.modules[self.fn.__module__])
        self.batch_size: int | None = step.get("batchSize")
        self.concurrency: int = step.get("concurrency") or 1

    def transform(self, ds: Any, batch_size: int, concurrency: int) -> Any:
        return ds.map_batches(
            self.fn, batch_format="pandas", batch_size=self.batch_size or batch_size, concurrency=self.concurrency
        )

    def transform_batch(self, df: pd.DataFrame) -> pd.DataFrame:
        out = self.fn(df)
        return out if isinstance(out, pd.DataFrame) else pd.DataFrame(out)

    def describe(self) -> dict[str, Any]:
        return dict(self.options)


_CLASSES: dict[str, type[Step]] = {
    "standardize": Standardize,
    "minMaxScale": MinMaxScale,
    "oneHot": OneHot,
    "fillNa": FillNa,
    "dropColumns": DropColumns,
    "cast": Cast,
}
assert set(_CLASSES) | {"mapBatches"} == set(STEPS)  # the registry and the implementations agree


def build(steps: list[dict[str, Any]], label: str | None, base_dirs: Any) -> list[Step]:
    """The spec's preprocess list as (unfitted) steps."""
    out: list[Step] = []
    for i, step in enumerate(steps):
        where = f"dataConfig.preprocess[{i}]"
        if any(k in step for k in MAP_KEYS):
            out.append(MapBatches(where, step, label, base_dirs))
        else:
            name, options = next(iter(step.items()))
            out.append(_CLASSES[name](f"{where}.{name}", dict(options), label))
    return out
