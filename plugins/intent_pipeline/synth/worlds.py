"""World presets: samples whose signal structure differs, each with its true propensity.

The default world is the sample the project was written against. The others change where the
intent shows, so that scoring, the conversion model and the calibration command are tried on more
than one kind of business (issue 13): whether fit (title, industry) carries intent, whether content
downloads are rare or universal, whether few or most leads reach an opportunity, and whether the
signal is in web behaviour or in sales activities.

How a preset acts (``timelines`` and ``crm`` read it; ``default`` changes nothing, so its bytes stay
those of the sample):

* ``fit_weight``: the true propensity is ``(1 - w) * latent + w * fit``, where fit is 1 for a
  director or above in a target industry (``vocab.DIRECTOR_PLUS``, ``INDUSTRIES``' flag), 0.6 for a
  director elsewhere, 0.35 for a manager in a target industry and so on; 0 = fit is noise.
* ``behaviour_noise``: web, form and email behaviour follow ``(1 - n) * true + n * noise`` (an
  independent draw): 0 = the web shows the intent, 1 = it says nothing about it.
* ``content_floor``: the least chance of a whitepaper, webinar and brochure form, whatever the
  intent (0.85: nearly everybody downloads something).
* ``opportunity_floor`` / ``opportunity_scale``: the chance that a lead gets an opportunity is
  ``floor + (1 - floor) * scale * default_chance`` (the default chance grows with the propensity).
* ``sales_signal``: the owner's follow-up activities grow with the true propensity (more calls,
  meetings instead of emails), instead of only for a lead that already has an opportunity.
* ``slow_opportunity_share`` / ``slow_opportunity_median_days``: when a lead's opportunity comes. The
  default world draws it 2 to 25 days after the lead's creation, evenly (a hard cut: no lead of the
  default sample converts after its 25th day, so its 30-day snapshot examples never convert; kept,
  since the default sample stays byte for byte that of the README's figures and the tests). In
  the other worlds this share of the opportunities comes late instead, after a log-normal delay
  (:func:`opportunity_delay`: that median, sigma 0.7, at least 2 days), as B2B deals do: weeks to
  months after the lead, with a long tail. Drawn from the lead's own stream, so only the timing of
  the opportunities (and what follows them) moves; the share does not depend on the propensity.
* ``conversion``: the dbt vars such a business would set (what converts, the window, when a lead is
  scored), used by ``bench/scoring.py`` and the tests; the generator itself does not read them.

The truth (``people.csv``) writes the true propensity; ``lead_events.csv`` is each CRM lead's own
event log (time, kind) the benchmark's reference model counts from.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from .model import Industry


@dataclass(frozen=True)
class WorldPreset:
    name: str
    description: str
    fit_weight: float = 0.0
    behaviour_noise: float = 0.0
    content_floor: float = 0.0
    opportunity_floor: float = 0.0
    opportunity_scale: float = 1.0
    sales_signal: bool = False
    slow_opportunity_share: float = 0.0
    slow_opportunity_median_days: float = 0.0
    conversion: dict[str, Any] = field(default_factory=dict)

    @property
    def is_default(self) -> bool:
        return self.name == "default"


# A table, not a rule: each world writes out its own dbt vars (``conversion``, passed as written to
# dbt by bench/scoring.py), so two worlds that convert alike repeat them.
WORLDS: dict[str, WorldPreset] = {
    p.name: p
    for p in (
        WorldPreset(
            "default",
            "the project's sample: fit is noise, content follows intent, about one lead in eight gets an "
            "opportunity, the signal is in forms and web behaviour",
            conversion={"conversion_event": "opportunity_created", "conversion_window_days": 30},
        ),
        WorldPreset(
            "fit_matters",
            "title and industry carry most of the intent (fit weight 0.6); content follows intent",
            fit_weight=0.6,
            slow_opportunity_share=0.3,
            slow_opportunity_median_days=45,
            conversion={"conversion_event": "opportunity_created", "conversion_window_days": 30},
        ),
        WorldPreset(
            "content_universal",
            "nearly every lead downloads content, most leads reach an opportunity; what converts is a won "
            "deal, the signal is in the path (pricing, demo, trial)",
            content_floor=0.85,
            opportunity_floor=0.6,
            slow_opportunity_share=0.2,
            slow_opportunity_median_days=40,
            conversion={"conversion_event": "opportunity_won", "conversion_window_days": 90},
        ),
        WorldPreset(
            "few_opportunities",
            "few leads reach an opportunity (a third of the default chance), and slowly: 60 % of them months "
            "after the lead (median 60 days); content follows intent",
            opportunity_scale=0.35,
            slow_opportunity_share=0.6,
            slow_opportunity_median_days=60,
            conversion={"conversion_event": "opportunity_created", "conversion_window_days": 30},
        ),
        WorldPreset(
            "sales_led",
            "web behaviour says little (noise 0.85), fit is noise; the signal is in the sales "
            "activities of the first two weeks; leads are scored 14 days after creation, a won deal converts",
            behaviour_noise=0.85,
            opportunity_floor=0.3,
            sales_signal=True,
            slow_opportunity_share=0.4,
            slow_opportunity_median_days=50,
            conversion={
                "conversion_event": "opportunity_won",
                "conversion_window_days": 90,
                "lead_observation_days": 14,
            },
        ),
    )
}

FIT_BY_SENIORITY = {"c_level": 1.0, "vp": 1.0, "director": 0.8, "manager": 0.45, "individual": 0.15, "intern": 0.0}


def world(name: str) -> WorldPreset:
    """The preset called ``name``; ``ValueError`` naming the presets otherwise."""
    if name not in WORLDS:
        raise ValueError(f"world must be one of {', '.join(WORLDS)}, got {name!r}")
    return WORLDS[name]


def fit_of(seniority: str, target_industry: bool) -> float:
    """0..1: how well a title and an industry fit the product."""
    return FIT_BY_SENIORITY.get(seniority, 0.0) * (0.55 + 0.45 * target_industry) + 0.1 * target_industry


def propensities(
    preset: WorldPreset, rng: random.Random, latent: float, seniority: str, industry: Industry
) -> tuple[float, float]:
    """(true propensity, behaviour propensity) of a person whose default-world propensity is ``latent``.

    ``rng`` is the person's world stream (never the behaviour stream, so the default world's draws
    are untouched)."""
    true = latent
    if preset.fit_weight:
        true = (1 - preset.fit_weight) * latent + preset.fit_weight * 0.6 * fit_of(seniority, bool(industry[2]))
    behaviour = true
    if preset.behaviour_noise:
        behaviour = (1 - preset.behaviour_noise) * true + preset.behaviour_noise * rng.betavariate(0.7, 2.6)
    return round(min(1.0, true), 4), round(min(1.0, behaviour), 4)


def opportunity_chance(preset: WorldPreset, default_chance: float) -> float:
    """The chance a lead gets an opportunity in this world, from the default world's chance."""
    if preset.is_default:
        return default_chance
    return preset.opportunity_floor + (1 - preset.opportunity_floor) * min(
        1.0, preset.opportunity_scale * default_chance
    )


SLOW_OPPORTUNITY_SIGMA = 0.7  # the log-normal's spread: a median of 60 days puts a tenth beyond 148 days
FAST_OPPORTUNITY_DAYS = (2, 25)  # the default world's delay, evenly drawn


def opportunity_delay(preset: WorldPreset, fast: int, draw: random.Random) -> int:
    """Seconds from a lead's creation to its opportunity: ``fast`` (the default world's draw, 2 to 25
    days) or, for the world's ``slow_opportunity_share``, a log-normal delay around
    ``slow_opportunity_median_days`` drawn from ``draw`` (the lead's own stream)."""
    if not preset.slow_opportunity_share or draw.random() >= preset.slow_opportunity_share:
        return fast
    days = preset.slow_opportunity_median_days * draw.lognormvariate(0, SLOW_OPPORTUNITY_SIGMA)
    return max(FAST_OPPORTUNITY_DAYS[0] * 86_400, round(days * 86_400))
