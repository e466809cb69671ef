"""Multi-touch attribution: path transforms, heuristic models, an exact Markov chain and Shapley values.

One implementation for the dbt marts (a dbt Python model calls :func:`attribute_journeys`) and for
analysts outside the pipeline (``python -m intent_pipeline attribute PATH_FILE``). Pure Python and
numpy; deterministic: the same input gives bit-identical credits on every run (channels are always
processed in sorted order, no randomness, no simulation).

**Paths.** A path is the ordered channels a person touched before a conversion (or before giving up:
a *null* path). Path files aggregate them: one row per distinct path with its conversions, their
total value and its null count (the format of ChannelAttribution and most attribution tools).

**Transforms** (as dbt-snowplow-attribution and Fractribution name them), applied before every model:

* ``unique`` — every touch counts (a > a > b stays a > a > b; the default);
* ``exposure`` — consecutive repeats collapse (a > a > b > a → a > b > a);
* ``first`` — each channel once, at its first occurrence (a > b > a → a > b);
* ``frequency`` — like ``exposure`` (the counts are not used by the models).

**Models.** Each gives every conversion credits over the channels of its path that sum to 1 (and,
multiplied by the conversion's value, to its value):

* ``first_touch``, ``last_touch``;
* ``last_non_direct`` — the last touch that is not ``Direct`` (all Direct: the last touch);
* ``linear`` — 1/n per touch;
* ``position_based`` — 40 % first, 40 % last, 20 % shared by the middle touches; one touch gets all,
  two touches half each;
* ``time_decay`` — weight 2^(−age / half_life) per touch, normalised; ``age`` is the days before the
  conversion when touch times are known, otherwise the number of touches between it and the
  conversion (the last touch has age 0) with ``half_life`` in touches;
* ``markov`` — the order-1 (or order-k) Markov chain over channels with start, conversion and null
  states, **solved exactly** as an absorbing chain: P(conversion) is the solution of (I − Q) x = r;
  the removal effect of a channel is 1 − P(conversion without it) / P(conversion) (removing a
  channel sends every transition into it to null). The standard allocation (ChannelAttribution,
  the ``mta`` package, Anderl et al. 2016): the **total** conversions and value are divided among
  all channels in proportion to their removal effects, so channel c gets
  total × RE(c) / Σ RE. Every conversion is given the same shares (they sum to 1 and to its
  value), including channels its own path never touched: the credit is a channel's, not a touch's;
* ``markov_path`` — the same chain, allocated per path: a conversion's credit goes to the channels
  of its own path in proportion to their removal effects (so a channel gets credit only from the
  paths it is on; channels on long paths with strong partners get less than in ``markov``);
* ``shapley`` — Shapley values of the channels in the cooperative game whose worth v(S) is the
  conversion rate of the paths whose set of channels is exactly S (0 where no path has that set),
  computed exactly over every coalition; the total conversions and value are divided among all
  channels in proportion to their (non-negative) Shapley values, like ``markov``. Exact, so the
  number of channels is limited (:data:`MAX_SHAPLEY_CHANNELS`);
* ``shapley_path`` — the same values, allocated per path like ``markov_path``.

A path whose channels all have zero Markov (or Shapley) weight falls back to linear credit over its
distinct channels (``*_path``); when every channel's weight is zero (no conversion at all), the
standard allocation does the same, so no conversion loses its credit.

**Unattributed.** A conversion without any touch (the warehouse gives it one pseudo-touch
``Unattributed``, :data:`UNATTRIBUTED`) is no evidence about channels: such paths are left out of
the Markov chain and the Shapley game, and every model credits them wholly to ``Unattributed``.
(Inside the chain a path that always converts would take a large share of every other
conversion under the standard allocation, and in the Shapley game its conversion rate of 1 would
make every other channel's value negative.)
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

DIRECT = "Direct"
MODELS = (
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "position_based",
    "time_decay",
    "markov",
    "markov_path",
    "shapley",
    "shapley_path",
)
# models that divide the total in proportion to one weight per channel (not per touch)
CHANNEL_LEVEL = ("markov", "shapley")
TRANSFORMS = ("unique", "exposure", "first", "frequency")
PATH_SEPARATOR = ">"
UNATTRIBUTED = "Unattributed"  # the pseudo-channel of a conversion without a touch
MAX_SHAPLEY_CHANNELS = 20  # 2^20 coalitions: about a second; beyond, group channels first
START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"


class AttributionError(ValueError):
    """The input cannot be attributed (an empty path with conversions, a bad path file, too many channels)."""


# --- paths ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PathRow:
    """One distinct path: its channels, conversions, their total value, and the journeys that did not convert."""

    path: tuple[str, ...]
    conversions: float = 0.0
    value: float = 0.0
    nulls: float = 0.0
    ages: tuple[float, ...] | None = None  # days before the conversion of each touch, when known


def split_path(text: str, separator: str = PATH_SEPARATOR) -> tuple[str, ...]:
    """``"alpha > beta"`` → ``("alpha", "beta")``; empty channels are dropped."""
    return tuple(part.strip() for part in text.split(separator) if part.strip())


def kept_touches(path: Sequence[str], how: str = "unique") -> list[int]:
    """The positions of the touches a transform keeps (see the module docstring): every one; the
    last of each run of repeats (``exposure``, ``frequency``: the touch closest to the conversion
    stands for the run); the first occurrence of each channel (``first``)."""
    if how == "unique":
        return list(range(len(path)))
    if how in ("exposure", "frequency"):
        return [i for i in range(len(path)) if i + 1 == len(path) or path[i + 1] != path[i]]
    if how == "first":
        first: dict[str, int] = {}
        for index, channel in enumerate(path):
            first.setdefault(channel, index)
        return sorted(first.values())
    raise AttributionError(f"unknown path transform {how!r}; expected one of {TRANSFORMS}")


def transform(path: Sequence[str], how: str = "unique") -> tuple[str, ...]:
    """The path after a transform (see the module docstring)."""
    return tuple(path[i] for i in kept_touches(path, how))


def read_path_file(text: str) -> list[PathRow]:
    """Rows of a path file: CSV with a header naming ``path`` and the columns for conversions, value
    and nulls (``total_conversions``/``conversions``, ``total_conversion_value``/``value``,
    ``total_null``/``nulls``), separated by commas or (ChannelAttribution's example file) by
    semicolons. Paths are ``a > b > c``."""
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    # ChannelAttribution's own example file separates with semicolons
    delimiter = ";" if ";" in header and "," not in header else ","
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter)
    if not reader.fieldnames:
        raise AttributionError("the path file is empty")
    names = {name.strip().lower(): name for name in reader.fieldnames}

    def column(*candidates: str, required: bool = True) -> str | None:
        for candidate in candidates:
            if candidate in names:
                return names[candidate]
        if required:
            wanted = " / ".join(candidates)
            raise AttributionError(f"the path file has no column {wanted} (header: {reader.fieldnames})")
        return None

    path_col = column("path")
    conv_col = column("total_conversions", "conversions")
    value_col = column("total_conversion_value", "conversion_value", "value", required=False)
    null_col = column("total_null", "total_nulls", "nulls", "null", required=False)
    rows = []
    for number, record in enumerate(reader, start=2):
        try:
            path = split_path(record[path_col] or "")
            conversions = float(record[conv_col] or 0)
            value = float(record[value_col] or 0) if value_col else 0.0
            nulls = float(record[null_col] or 0) if null_col else 0.0
        except ValueError as error:
            raise AttributionError(f"line {number}: {error}") from None
        if min(conversions, value, nulls) < 0 or not all(map(math.isfinite, (conversions, value, nulls))):
            raise AttributionError(f"line {number}: counts and values must be finite and >= 0")
        if not path and (conversions or nulls):
            raise AttributionError(f"line {number}: an empty path with conversions or nulls")
        if path:
            rows.append(PathRow(path, conversions, value, nulls))
    return rows


# --- heuristic models ----------------------------------------------------------------------------


def heuristic_weights(path: Sequence[str], model: str, ages: Sequence[float] | None = None,
                      half_life: float = 7.0, direct: str = DIRECT) -> list[float]:  # fmt: skip
    """Credit of each touch of ``path`` under a heuristic model; the weights sum to 1."""
    n = len(path)
    if n == 0:
        raise AttributionError("an empty path cannot be attributed")
    if model == "first_touch":
        return [1.0] + [0.0] * (n - 1)
    if model == "last_touch":
        return [0.0] * (n - 1) + [1.0]
    if model == "last_non_direct":
        weights = [0.0] * n
        index = next((i for i in range(n - 1, -1, -1) if path[i] != direct), n - 1)
        weights[index] = 1.0
        return weights
    if model == "linear":
        return [1.0 / n] * n
    if model == "position_based":
        if n == 1:
            return [1.0]
        if n == 2:
            return [0.5, 0.5]
        middle = 0.2 / (n - 2)
        return [0.4] + [middle] * (n - 2) + [0.4]
    if model == "time_decay":
        if half_life <= 0:
            raise AttributionError(f"half_life must be > 0, got {half_life}")
        ages = list(ages) if ages is not None else [float(n - 1 - i) for i in range(n)]
        raw = [2.0 ** (-max(age, 0.0) / half_life) for age in ages]
        total = math.fsum(raw)
        return [w / total for w in raw]
    raise AttributionError(f"{model!r} is not a heuristic model")


# --- Markov chain --------------------------------------------------------------------------------


@dataclass
class MarkovResult:
    """The solved chain: P(conversion) with every channel, without each one, and the removal effects."""

    channels: list[str]
    conversion_probability: float
    without: dict[str, float] = field(default_factory=dict)
    removal_effects: dict[str, float] = field(default_factory=dict)
    order: int = 1
    states: int = 0


def _state_path(path: Sequence[str], order: int) -> list[tuple[str, ...]]:
    """The chain's states along a path: the last ``order`` channels at each touch."""
    return [tuple(path[max(0, i + 1 - order) : i + 1]) for i in range(len(path))]


def markov(rows: Iterable[PathRow], order: int = 1) -> MarkovResult:
    """Solve the absorbing Markov chain of the paths exactly (see the module docstring)."""
    import numpy as np

    if order < 1:
        raise AttributionError(f"Markov order must be >= 1, got {order}")
    counts: dict[tuple, dict[tuple, float]] = defaultdict(lambda: defaultdict(float))
    start: tuple[str, ...] = (START,)
    conversion, null = (CONVERSION,), (NULL,)
    channels: set[str] = set()
    for row in rows:
        weight = row.conversions + row.nulls
        if weight <= 0 or not row.path:
            continue
        channels.update(row.path)
        states = _state_path(row.path, order)
        previous = start
        for state in states:
            counts[previous][state] += weight
            previous = state
        if row.conversions:
            counts[previous][conversion] += row.conversions
        if row.nulls:
            counts[previous][null] += row.nulls
    ordered = sorted(channels)
    transient = [start, *sorted(s for s in counts if s != start)]
    index = {state: i for i, state in enumerate(transient)}
    result = MarkovResult(channels=ordered, conversion_probability=0.0, order=order, states=len(transient))
    if not counts:
        return result
    size = len(transient)
    q = np.zeros((size, size))
    r = np.zeros(size)
    for source in transient:
        targets = counts[source]
        total = math.fsum(targets.values())
        i = index[source]
        for target in sorted(targets):
            p = targets[target] / total
            if target == conversion:
                r[i] += p
            elif target != null:
                q[i, index[target]] += p

    def solve(removed: str | None) -> float:
        qq, rr = q, r
        if removed is not None:
            # every transition into a state holding the removed channel goes to null instead
            keep = np.array([removed not in state for state in transient])
            qq = q * keep[np.newaxis, :]
            rr = np.where(keep, r, 0.0)
        x = np.linalg.solve(np.eye(size) - qq, rr)
        return float(x[0])

    base = solve(None)
    result.conversion_probability = base
    for channel in ordered:
        without = solve(channel)
        result.without[channel] = without
        result.removal_effects[channel] = (1.0 - without / base) if base > 0 else 0.0
    return result


# --- Shapley values ------------------------------------------------------------------------------


def shapley(rows: Iterable[PathRow]) -> dict[str, float]:
    """Exact Shapley values of the channels for v(S) = conversion rate of the paths whose channel set is S."""
    import numpy as np

    conversions: dict[frozenset, float] = defaultdict(float)
    journeys: dict[frozenset, float] = defaultdict(float)
    channels: set[str] = set()
    for row in rows:
        if not row.path or row.conversions + row.nulls <= 0:
            continue
        coalition = frozenset(row.path)
        channels.update(coalition)
        conversions[coalition] += row.conversions
        journeys[coalition] += row.conversions + row.nulls
    ordered = sorted(channels)
    n = len(ordered)
    if n > MAX_SHAPLEY_CHANNELS:
        raise AttributionError(
            f"{n} channels: exact Shapley values need 2^{n} coalitions; group channels (at most {MAX_SHAPLEY_CHANNELS})"
        )
    if n == 0:
        return {}
    bit = {channel: 1 << i for i, channel in enumerate(ordered)}
    worth = np.zeros(1 << n)
    for coalition, total in journeys.items():
        mask = sum(bit[c] for c in coalition)
        worth[mask] = conversions[coalition] / total
    masks = np.arange(1 << n)
    sizes = np.array([int(m).bit_count() for m in masks])
    # |S|! (n - |S| - 1)! / n! for a coalition S without the player
    weight_of_size = np.array([math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) for s in range(n)])
    values = {}
    for channel in ordered:
        b = bit[channel]
        without = masks[(masks & b) == 0]
        marginal = worth[without | b] - worth[without]
        values[channel] = float(math.fsum(weight_of_size[sizes[without]] * marginal))
    return values


# --- credits -------------------------------------------------------------------------------------


def _proportional(path: Sequence[str], weight_of: dict[str, float]) -> dict[str, float]:
    """A conversion's credit over its path's distinct channels in proportion to ``weight_of`` (negative
    weights count as 0); linear over the distinct channels when they all weigh 0."""
    distinct = sorted(set(path))
    weights = [max(weight_of.get(c, 0.0), 0.0) for c in distinct]
    total = math.fsum(weights)
    if total <= 0:
        return {c: 1.0 / len(distinct) for c in distinct}
    return {c: w / total for c, w in zip(distinct, weights, strict=True)}


def channel_shares(weight_of: dict[str, float]) -> dict[str, float]:
    """The standard allocation's shares: every channel with a positive weight (removal effect or
    Shapley value) gets weight ÷ the sum of the positive weights; empty when no weight is positive."""
    positive = {c: w for c, w in sorted(weight_of.items()) if w > 0}
    total = math.fsum(positive.values())
    return {c: w / total for c, w in positive.items()} if total > 0 else {}


def path_credits(path: Sequence[str], model: str, ages: Sequence[float] | None = None, *,
                 half_life: float = 7.0, markov_effects: dict[str, float] | None = None,
                 shapley_values: dict[str, float] | None = None, direct: str = DIRECT) -> dict[str, float]:  # fmt: skip
    """One conversion's credit per channel under ``model`` (sums to 1). ``markov`` and ``shapley``
    give every conversion the same shares over all channels (the standard allocation), the
    ``*_path`` variants share it over the path's own channels."""
    if model in CHANNEL_LEVEL:
        shares = channel_shares((markov_effects if model == "markov" else shapley_values) or {})
        return shares or _proportional(path, {})
    if model == "markov_path":
        return _proportional(path, markov_effects or {})
    if model == "shapley_path":
        return _proportional(path, shapley_values or {})
    credits: dict[str, float] = defaultdict(float)
    for channel, weight in zip(path, heuristic_weights(path, model, ages, half_life, direct), strict=True):
        if weight:
            credits[channel] += weight
    return dict(credits)


@dataclass
class Attribution:
    """Every model's credits: per path (for one conversion) and per channel (conversions and value)."""

    channels: list[str]
    conversions: dict[str, dict[str, float]]  # model -> channel -> credited conversions
    value: dict[str, dict[str, float]]  # model -> channel -> credited value
    markov: MarkovResult
    shapley: dict[str, float]
    total_conversions: float
    total_value: float


def _untouched(path: Sequence[str], unattributed: str | None) -> bool:
    """A path of the pseudo-channel alone: a conversion without a touch."""
    return unattributed is not None and bool(path) and all(channel == unattributed for channel in path)


def attribute(rows: Sequence[PathRow], how: str = "unique", *, half_life: float = 7.0,
              markov_order: int = 1, models: Sequence[str] = MODELS, direct: str = DIRECT,
              unattributed: str | None = UNATTRIBUTED) -> Attribution:  # fmt: skip
    """Attribute aggregated paths with every model (credits per channel, summed over conversions).
    Paths of ``unattributed`` alone are left out of the chain and the Shapley game and credited to it."""
    transformed = []
    for row in rows:
        path = transform(row.path, how)
        kept = kept_touches(row.path, how)
        ages = tuple(row.ages[i] for i in kept) if row.ages is not None else None
        transformed.append(PathRow(path, row.conversions, row.value, row.nulls, ages))
    fitted = [row for row in transformed if not _untouched(row.path, unattributed)]
    chain = markov(fitted, markov_order) if {"markov", "markov_path"} & set(models) else MarkovResult([], 0.0)
    values = shapley(fitted) if {"shapley", "shapley_path"} & set(models) else {}
    channels = sorted({c for row in transformed for c in row.path})
    conversions = {m: {c: 0.0 for c in channels} for m in models}
    value = {m: {c: 0.0 for c in channels} for m in models}
    parts: dict[str, dict[str, list[float]]] = {m: defaultdict(list) for m in models}
    value_parts: dict[str, dict[str, list[float]]] = {m: defaultdict(list) for m in models}
    for row in transformed:
        if row.conversions <= 0 or not row.path:
            continue
        untouched = _untouched(row.path, unattributed)
        for model in models:
            if untouched:
                credits = {row.path[0]: 1.0}
            else:
                credits = path_credits(row.path, model, row.ages, half_life=half_life, direct=direct,
                                       markov_effects=chain.removal_effects, shapley_values=values)  # fmt: skip
            for channel, credit in credits.items():
                parts[model][channel].append(credit * row.conversions)
                value_parts[model][channel].append(credit * row.value)
    for model in models:
        for channel in channels:
            # fsum: exact sums, independent of the order of the paths
            conversions[model][channel] = math.fsum(parts[model][channel])
            value[model][channel] = math.fsum(value_parts[model][channel])
    return Attribution(
        channels=channels,
        conversions=conversions,
        value=value,
        markov=chain,
        shapley=values,
        total_conversions=math.fsum(r.conversions for r in transformed),
        total_value=math.fsum(r.value for r in transformed),
    )


def to_csv(result: Attribution, what: str = "conversions") -> str:
    """One row per channel, one column per model (credited conversions, or value with ``what="value"``)."""
    table = result.conversions if what == "conversions" else result.value
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    models = list(table)
    writer.writerow(["channel", *models])
    for channel in result.channels:
        writer.writerow([channel, *(repr(round(table[m][channel], 10)) for m in models)])
    return out.getvalue()


# --- journeys (the warehouse's input: one path per conversion or non-converting person) ----------


@dataclass(frozen=True)
class Journey:
    """The touches before one conversion (``converted``), or of a person who did not convert."""

    journey_id: str
    path: tuple[str, ...]
    touch_ids: tuple[str, ...]
    ages: tuple[float, ...] | None = None  # days before the conversion (or the journey's end)
    converted: bool = False
    value: float = 0.0


def touch_credits(path: Sequence[str], model: str, ages: Sequence[float] | None = None, *,
                  half_life: float = 7.0, markov_effects: dict[str, float] | None = None,
                  shapley_values: dict[str, float] | None = None, direct: str = DIRECT) -> list[float]:  # fmt: skip
    """One conversion's credit per touch of ``path`` (sums to 1): the heuristics weigh touches; Markov
    and Shapley credit channels, shared evenly by each channel's touches (for ``markov`` and
    ``shapley`` only the path's channels' shares: the rest is credited to channels, not touches, by
    :func:`attribute_journeys`; use the ``*_path`` models for touch-level credits)."""
    if model not in ("markov", "shapley", "markov_path", "shapley_path"):
        return heuristic_weights(path, model, ages, half_life, direct)
    by_channel = path_credits(path, model, markov_effects=markov_effects, shapley_values=shapley_values)
    touches: defaultdict[str, int] = defaultdict(int)
    for channel in path:
        touches[channel] += 1
    return [by_channel.get(channel, 0.0) / touches[channel] for channel in path]


# journey_id, touch_id (None for a channel-level credit of markov or shapley), model, credit, credited value, channel
TouchCredit = tuple[str, str | None, str, float, float, str]
# the channels of a non-converting journey in touch order (before any transform), and how many journeys have it
NullPaths = tuple[Sequence[str], int]


def attribute_journeys(journeys: Sequence[Journey], how: str = "unique", *, half_life: float = 7.0,
                       markov_order: int = 1, models: Sequence[str] = MODELS, direct: str = DIRECT,
                       unattributed: str | None = UNATTRIBUTED, null_paths: Iterable[NullPaths] = (),
                       ) -> tuple[list[TouchCredit], MarkovResult, dict]:  # fmt: skip
    """Credits per converting journey, model and kept touch: ``(journey_id, touch_id, model, credit,
    credited value, channel)``; the chain and Shapley values are fitted on every journey (converting
    and not) aggregated to distinct paths. Touches a transform drops get no row. ``markov`` and
    ``shapley`` (the standard allocation) give one row per channel with a positive share and
    ``touch_id`` None: every conversion the same shares. A journey of ``unattributed`` alone (a
    conversion without a touch) is left out of the fit and credited to it in every model.

    ``null_paths``: non-converting journeys given as counts, ``(path before the transform, how many
    journeys)``, besides any in ``journeys``. They get no credit and enter the fit only through their
    path's count, so a caller that counts them where they are stored (the dbt model: one SQL
    ``group by``) gives the same fit, bit for bit, as the journeys one by one: a count is an integer
    (exact in a float), and the converting journeys' values are summed in the same order as before."""
    kept = {j.journey_id: kept_touches(j.path, how) for j in journeys}
    aggregated: dict[tuple[str, ...], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for journey in journeys:
        if not journey.path or _untouched(journey.path, unattributed):
            continue  # no touch, no evidence about channels: not in the chain or the game
        path = tuple(journey.path[i] for i in kept[journey.journey_id])
        totals = aggregated[path]
        if journey.converted:
            totals[0] += 1
            totals[1] += journey.value
        else:
            totals[2] += 1
    for raw_path, count in null_paths:
        raw_path = tuple(raw_path)
        if not raw_path or _untouched(raw_path, unattributed):
            continue
        aggregated[tuple(raw_path[i] for i in kept_touches(raw_path, how))][2] += count
    rows = [PathRow(path, c, v, n) for path, (c, v, n) in sorted(aggregated.items())]
    chain = markov(rows, markov_order) if {"markov", "markov_path"} & set(models) else MarkovResult([], 0.0)
    values = shapley(rows) if {"shapley", "shapley_path"} & set(models) else {}
    shares = {"markov": channel_shares(chain.removal_effects), "shapley": channel_shares(values)}
    out: list[TouchCredit] = []
    for journey in sorted(journeys, key=lambda j: j.journey_id):
        if not journey.converted or not journey.path:
            continue
        indices = kept[journey.journey_id]
        kept_path = [journey.path[i] for i in indices]
        ages = [journey.ages[i] for i in indices] if journey.ages is not None else None
        touch_ids = [journey.touch_ids[i] for i in indices]
        untouched = _untouched(kept_path, unattributed)
        for model in models:
            if untouched:
                # a conversion without a touch: its pseudo-touch gets the whole credit in every model
                for touch_id, channel in zip(touch_ids[:1], kept_path[:1], strict=True):
                    out.append((journey.journey_id, touch_id, model, 1.0, journey.value, channel))
                continue
            if model in CHANNEL_LEVEL and shares[model]:
                # the standard allocation: the same shares for every conversion, one row per channel
                for channel, share in shares[model].items():
                    out.append((journey.journey_id, None, model, share, share * journey.value, channel))
                continue
            credits = touch_credits(kept_path, model, ages, half_life=half_life, direct=direct,
                                    markov_effects=chain.removal_effects, shapley_values=values)  # fmt: skip
            for touch_id, channel, credit in zip(touch_ids, kept_path, credits, strict=True):
                if credit:
                    out.append((journey.journey_id, touch_id, model, credit, credit * journey.value, channel))
    return out, chain, values


JOURNEY_COLUMNS = ("journey_id", "is_conversion", "conversion_value", "touch_number", "touch_id", "channel", "age_days")


def journeys_from_table(table) -> list[Journey]:
    """Journeys from a table with one row per touch (int_attribution_journeys: ``JOURNEY_COLUMNS``),
    a pandas DataFrame; touches in ``touch_number`` order. Vectorised grouping: 1M journeys in seconds."""
    import numpy as np

    missing = [c for c in JOURNEY_COLUMNS if c not in table.columns]
    if missing:
        raise AttributionError(f"journey table lacks columns {missing}")
    table = table.sort_values(["journey_id", "touch_number"], kind="stable")
    ids = table["journey_id"].to_numpy()
    if not len(ids):  # no journey (e.g. nobody with analytics consent yet): none, not one empty one
        return []
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    channels = table["channel"].tolist()
    touch_ids = table["touch_id"].tolist()
    ages = table["age_days"].astype(float).tolist()
    converted = table["is_conversion"].astype(bool).to_numpy()
    values = table["conversion_value"].astype(float).fillna(0.0).to_numpy()
    return [
        Journey(
            journey_id=ids[s],
            path=tuple(channels[s:e]),
            touch_ids=tuple(touch_ids[s:e]),
            ages=tuple(ages[s:e]),
            converted=bool(converted[s]),
            value=float(values[s]),
        )
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
    ]


def attribute_journey_table(table, how: str = "unique", *, half_life: float = 7.0, markov_order: int = 1,
                            null_paths: Iterable[NullPaths] = ()):  # fmt: skip
    """The dbt model ``attribution_touch_credits``: every model's credit per touch of each converting
    journey of a journey table (see :func:`journeys_from_table`), with the touch's channel's removal
    effect and Shapley value; a pandas DataFrame. ``markov`` and ``shapley`` rows are per channel
    (touch_id, touched_at and campaign null: the standard allocation credits channels, not touches).
    ``null_paths``: non-converting journeys as path counts (:func:`attribute_journeys`), so that the
    table need hold only the converting ones: the same credits."""
    import pandas as pd

    credits, chain, values = attribute_journeys(
        journeys_from_table(table), how, half_life=half_life, markov_order=markov_order, null_paths=null_paths
    )
    out = pd.DataFrame(
        credits, columns=["conversion_id", "touch_id", "attribution_model", "credit", "credited_value", "channel"]
    )
    per_touch = [c for c in ("touched_at", "campaign") if c in table.columns]
    per_journey = [c for c in ("person_id", "converted_at") if c in table.columns]
    touches = table[["journey_id", "touch_id", *per_touch]].rename(columns={"journey_id": "conversion_id"})
    # a channel-level credit (touch_id None) has no touch: its touched_at and campaign stay null
    out = out.merge(touches, on=["conversion_id", "touch_id"], how="left")
    if per_journey:
        journeys = table[["journey_id", *per_journey]].drop_duplicates("journey_id")
        out = out.merge(journeys.rename(columns={"journey_id": "conversion_id"}), on="conversion_id", how="left")
    out["removal_effect"] = out["channel"].map(chain.removal_effects)
    out["shapley_value"] = out["channel"].map(values)
    return out
