"""The shape of a claim: one prediction paired with one measurement and a stated tolerance.

A claim is data plus four small functions, written in ``claims/<module>.py``::

    @dataclass(frozen=True)
    class CrosstalkConfig:                    # typed, frozen, one instance per scale
        n_neurons: int
        alphas: tuple[float, ...]
        n_trials: int

    def measure(cfg: CrosstalkConfig, rt: Runtime) -> Measurement:   # the experiment (empirics/)
        ...
        return Measurement(Points(grid={"alpha": alpha}, measured=rate, stderr=se))

    def predict(cfg, m: Measurement) -> dict[str, np.ndarray]:      # theory/ on the same grid
        return {"main": hopfield.bit_error_probability(cfg.n_neurons, m.grid("n_patterns"))}

    def compare(cfg, m, predicted) -> list[Check]:                   # kernelcap.compare
        return [compare.max_abs_z(m.points["main"], predicted["main"], bound=4, reason="...")]

    CROSSTALK = Claim("hopfield.crosstalk", statement=..., source=..., configs=Scales(...),
                      measure=measure, predict=predict, compare=compare, x="alpha")

``Claim.run(scale, runtime)`` measures, evaluates the prediction, compares, and builds the
:class:`Evidence`: tidy rows (``predicted`` is always the theory at that row, and only present for
series that have a theory), the checks and their verdict, and the standard figure (theory as a line,
measurements as points with error bars, drawn per series against the claim's ``x`` column). A claim
may add panels and axis settings with ``decorate``. The verdict is computed from the checks, never
stored as a literal.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import numpy as np

from kernelcap.runtime import SCALES, Runtime

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9][a-z0-9_-]*$")
OPS = ("<=", ">=")
MAIN = "main"


@dataclass(frozen=True, kw_only=True)
class Check:
    """One comparison of a measured number against a bound: ``value op bound``.

    ``op`` is ``"<="`` or ``">="`` and has no default. A NaN value or bound fails. ``reason``
    says in one sentence why the bound is that number (e.g. "4 Monte-Carlo standard errors").
    """

    name: str
    value: float
    op: Literal["<=", ">="]
    bound: float
    reason: str

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"op must be '<=' or '>=', got {self.op!r}")
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ValueError(f"check {self.name!r} needs a reason for its bound")
        object.__setattr__(self, "value", float(self.value))
        object.__setattr__(self, "bound", float(self.bound))

    @property
    def passed(self) -> bool:
        return passes(self.value, self.op, self.bound)

    def __str__(self) -> str:
        mark = "ok" if self.passed else "FAIL"
        return f"{self.name} = {self.value:.4g} (need {self.op} {self.bound:.4g}) [{mark}]"


def passes(value: float, op: str, bound: float) -> bool:
    """``value op bound`` with NaN failing; the one rule used for fresh and stored checks."""
    value, bound = float(value), float(bound)
    if math.isnan(value) or math.isnan(bound):
        return False
    if op == "<=":
        return value <= bound
    if op == ">=":
        return value >= bound
    raise ValueError(f"op must be '<=' or '>=', got {op!r}")


@dataclass(frozen=True)
class Points:
    """Measured values on a grid, one row per point.

    Attributes:
        grid: the inputs, name → (n,) array (e.g. ``{"alpha": ..., "n_neurons": ...}``).
        measured: (n,) the measured quantity.
        stderr: (n,) its standard error (NaN where there is none).
        label: what is measured, for the figure's y axis and legend.
    """

    grid: Mapping[str, Any]
    measured: Any
    stderr: Any = None
    label: str = "measured"

    def __post_init__(self) -> None:
        measured = np.atleast_1d(np.asarray(self.measured, dtype=float))
        if measured.ndim != 1:
            raise ValueError(f"measured must be 1-D, got shape {measured.shape}")
        n = measured.size
        stderr = (
            np.full(n, np.nan)
            if self.stderr is None
            else np.broadcast_to(np.asarray(self.stderr, dtype=float), (n,)).copy()
        )
        grid = {}
        for k, v in dict(self.grid).items():
            col = np.asarray(v)
            if col.ndim == 0:
                col = np.full(n, col.item(), dtype=col.dtype)
            if col.shape != (n,):
                raise ValueError(f"grid column {k!r} has shape {col.shape}, measured has ({n},)")
            grid[k] = col
        object.__setattr__(self, "grid", grid)
        object.__setattr__(self, "measured", measured)
        object.__setattr__(self, "stderr", stderr)

    def __len__(self) -> int:
        return self.measured.size


@dataclass(frozen=True)
class Measurement:
    """What an experiment measured.

    Attributes:
        points: one :class:`Points`, or named series ``{"name": Points}`` (the first is the main
            one).
        extras: further JSON-serialisable numbers worth keeping (fits, run lengths, ...).
        timings: seconds spent, by phase.
        run: the raw result objects (e.g. a training run) for figure panels; not stored.
    """

    points: Points | Mapping[str, Points]
    extras: Mapping[str, Any] = field(default_factory=dict)
    timings: Mapping[str, float] = field(default_factory=dict)
    run: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        pts = {MAIN: self.points} if isinstance(self.points, Points) else dict(self.points)
        if not pts or not all(isinstance(p, Points) for p in pts.values()):
            raise TypeError("points must be a Points or a non-empty mapping of name -> Points")
        object.__setattr__(self, "points", pts)

    @property
    def series(self) -> dict[str, Points]:
        return self.points  # type: ignore[return-value]

    def __getitem__(self, name: str) -> Points:
        return self.series[name]

    @property
    def main(self) -> Points:
        return next(iter(self.series.values()))


@dataclass(frozen=True)
class Evidence:
    """What running a claim produced (built by :meth:`Claim.run`).

    Attributes:
        rows: tidy records, one per measured point: ``series`` (when there are several), the grid
            inputs, ``predicted`` (theory at that row; only for series with a theory), ``measured``
            and ``stderr``.
        checks: the comparisons that make the verdict; the first is the headline.
        figure: the claim's ``Figure``.
        summary: one line saying what was measured, with the key numbers.
        extras, timings: from the measurement (``timings['total_s']`` added by ``Claim.run``).
    """

    rows: tuple[Mapping[str, Any], ...]
    checks: tuple[Check, ...]
    figure: Figure | None = None
    summary: str = ""
    extras: Mapping[str, Any] = field(default_factory=dict)
    timings: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", tuple(dict(r) for r in self.rows))
        object.__setattr__(self, "checks", tuple(self.checks))
        if not self.checks:
            raise ValueError("Evidence needs at least one Check: a verdict must come from numbers")
        if not all(isinstance(c, Check) for c in self.checks):
            raise TypeError("checks must be Check instances")

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def verdict(self) -> str:
        return "pass" if self.passed else "fail"

    @property
    def headline(self) -> Check:
        return self.checks[0]

    def __repr__(self) -> str:
        checks = "; ".join(str(c) for c in self.checks)
        return f"Evidence({self.verdict}: {checks}; {len(self.rows)} rows)"


C = TypeVar("C")


@dataclass(frozen=True)
class Scales(Generic[C]):
    """One typed, frozen config per scale: ``smoke`` (seconds on CPU; pytest and CI), ``quick``
    (≤ ~2 min on a 2-core CPU; ``make demo``) and ``paper`` (the published sizes; a GPU)."""

    smoke: C
    quick: C
    paper: C

    def __post_init__(self) -> None:
        for s in SCALES:
            cfg = getattr(self, s)
            if not (dataclasses.is_dataclass(cfg) and not isinstance(cfg, type)):
                raise TypeError(f"the {s} config must be a dataclass instance, got {cfg!r}")
            if not type(cfg).__dataclass_params__.frozen:  # type: ignore[attr-defined]
                raise TypeError(f"the {s} config {type(cfg).__name__} must be a frozen dataclass")

    def __getitem__(self, scale: str) -> C:
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
        return getattr(self, scale)


Measure = Callable[[Any, Runtime], Measurement]
Predict = Callable[[Any, Measurement], Mapping[str, Any]]
Compare = Callable[[Any, Measurement, Mapping[str, np.ndarray]], Sequence[Check]]
Decorate = Callable[..., None]
Curve = Callable[[Any, Measurement], Mapping[str, tuple[Any, Any]]]
Summarize = Callable[[Any, Measurement, Mapping[str, np.ndarray]], str]


@dataclass(frozen=True)
class Claim:
    """A falsifiable statement, the paper that makes it, and the experiment that tests it.

    Attributes:
        id: ``"<module>.<name>"``.
        statement: one falsifiable sentence. source: the paper(s) that make the prediction.
        configs: :class:`Scales` of frozen config dataclasses.
        measure: ``measure(config, runtime) -> Measurement`` (the experiment).
        predict: ``predict(config, measurement) -> {series: theory on that series' grid}``, from
            ``kernelcap.theory`` only; series without a theory are left out.
        compare: ``compare(config, measurement, predicted) -> [Check, ...]`` (see
            :mod:`kernelcap.compare`); the first check is the headline.
        x: the grid column on the figure's x axis (series without it are not drawn).
        xlabel, ylabel: axis labels; xscale, yscale: ``"linear"`` or ``"log"``.
        curve: ``curve(config, measurement) -> {label: (x, y)}``, theory lines on a fine grid for
            the figure, drawn instead of the default line through the predictions at the measured
            points. A NaN in y breaks a line (e.g. at a singularity).
        panels: number of axes in the figure (the standard plot goes on the first).
        decorate: ``decorate(fig, axes, config, measurement, predicted)`` adds curves or panels.
        summarize: ``summarize(config, measurement, predicted) -> str`` (default: the checks).
    """

    id: str
    statement: str
    source: str
    configs: Scales
    measure: Measure
    predict: Predict
    compare: Compare
    x: str | None = None
    xlabel: str | None = None
    ylabel: str | None = None
    xscale: str = "linear"
    yscale: str = "linear"
    curve: Curve | None = None
    panels: int = 1
    decorate: Decorate | None = None
    summarize: Summarize | None = None

    def __post_init__(self) -> None:
        if not _ID_RE.match(self.id):
            raise ValueError(f"claim id must look like '<module>.<name>', got {self.id!r}")
        if not isinstance(self.configs, Scales):
            raise TypeError(f"claim {self.id!r}: configs must be a Scales of frozen dataclasses")
        for name in ("statement", "source"):
            if not str(getattr(self, name)).strip():
                raise ValueError(f"claim {self.id!r} needs a {name}")
        for name in ("measure", "predict", "compare"):
            if not callable(getattr(self, name)):
                raise TypeError(f"claim {self.id!r}: {name} must be callable")

    @property
    def module(self) -> str:
        return self.id.split(".", 1)[0]

    def config(self, scale: str):
        """The frozen config of ``scale``."""
        return self.configs[scale]

    def run(self, scale: str = "quick", runtime: Runtime | None = None) -> Evidence:
        """Measure at ``scale``, predict on the same grid, compare, and build the evidence."""
        cfg = self.config(scale)
        rt = runtime if runtime is not None else Runtime(scale=scale)
        if rt.scale != scale:
            rt = rt.replace(scale=scale)
        start = time.perf_counter()
        m = self.measure(cfg, rt)
        if not isinstance(m, Measurement):
            raise TypeError(
                f"claim {self.id!r}: measure returned {type(m).__name__}, not Measurement"
            )
        measured_at = time.perf_counter()
        predicted = _check_predictions(self.id, m, self.predict(cfg, m))
        checks = tuple(self.compare(cfg, m, predicted))
        fig = self.figure(cfg, m, predicted)
        summary = (
            self.summarize(cfg, m, predicted)
            if self.summarize is not None
            else "; ".join(str(c) for c in checks)
        )
        end = time.perf_counter()
        timings = {**m.timings, "measure_s": measured_at - start, "total_s": end - start}
        return Evidence(
            rows=tuple(rows(m, predicted)),
            checks=checks,
            figure=fig,
            summary=summary,
            extras=dict(m.extras),
            timings=timings,
        )

    def figure(self, cfg, m: Measurement, predicted: Mapping[str, np.ndarray]) -> Figure:
        """The standard figure: per series, theory as a line and measurements with error bars."""
        from kernelcap.plotting import claim_figure, plot_measured, plot_theory

        fig, axes = claim_figure(self.id, ncols=self.panels)
        axs = list(np.atleast_1d(axes))
        ax = axs[0]
        drawn = [
            (name, p) for name, p in m.series.items() if self.x is not None and self.x in p.grid
        ]
        several = len(drawn) > 1
        if self.curve is not None:
            for k, (label, (fx, fy)) in enumerate(dict(self.curve(cfg, m)).items()):
                plot_theory(ax, fx, fy, label=label, **({"color": "0.35", "lw": 1.2} if k else {}))
        for k, (name, p) in enumerate(drawn):
            x = np.asarray(p.grid[self.x], dtype=float)
            if self.curve is None and name in predicted:
                order = np.argsort(x, kind="stable")
                plot_theory(
                    ax,
                    x[order],
                    predicted[name][order],
                    label=f"theory {name}" if several else "theory",
                    **({"color": f"C{k}"} if several else {}),
                )
            style = {"color": f"C{k + 1}"} if several else {}
            plot_measured(ax, x, p.measured, p.stderr, label=name if several else p.label, **style)
        ax.set_xscale(self.xscale)
        ax.set_yscale(self.yscale)
        if self.xlabel:
            ax.set_xlabel(self.xlabel)
        if self.ylabel:
            ax.set_ylabel(self.ylabel)
        if self.decorate is not None:
            self.decorate(fig, axs if self.panels > 1 else ax, cfg, m, predicted)
        if drawn and ax.get_legend() is None:
            ax.legend(fontsize=8)
        return fig


def _check_predictions(cid: str, m: Measurement, predicted) -> dict[str, np.ndarray]:
    if predicted is None:
        return {}
    if not isinstance(predicted, Mapping):
        raise TypeError(f"claim {cid!r}: predict must return a mapping series -> array")
    out = {}
    for name, values in predicted.items():
        if name not in m.series:
            raise ValueError(f"claim {cid!r}: prediction for unknown series {name!r}")
        arr = np.broadcast_to(np.asarray(values, dtype=float), (len(m.series[name]),)).copy()
        out[name] = arr
    return out


def rows(m: Measurement, predicted: Mapping[str, np.ndarray]) -> list[dict[str, Any]]:
    """Tidy rows: [series,] grid inputs, [predicted,] measured, stderr — one per point."""
    out = []
    several = len(m.series) > 1
    for name, p in m.series.items():
        pred = predicted.get(name)
        for j in range(len(p)):
            row: dict[str, Any] = {"series": name} if several else {}
            row.update({k: _scalar(v[j]) for k, v in p.grid.items()})
            if pred is not None:
                row["predicted"] = float(pred[j])
            row["measured"] = float(p.measured[j])
            row["stderr"] = float(p.stderr[j])
            out.append(row)
    return out


def _scalar(v):
    return v.item() if hasattr(v, "item") else v
