"""What :func:`evaluation.bandit.evaluate_logs` reports: the result types, their JSON and the
human-readable text.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from evaluation.bandit_policies import BanditConfig
from evaluation.estimators import (
    Estimate,
    OffPolicyEstimates,
)


@dataclass(frozen=True)
class CandidateScore:
    """A candidate's DR (unclipped) and IPW on the validation window."""

    name: str
    dr: Estimate
    ipw: float
    matched: float

    @property
    def lcb(self) -> float:
        """Lower end of the DR 95% interval: the selection statistic."""
        return self.dr.ci95[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.name,
            "ctr_dr": _num(self.dr.value),
            "ci95": _pair(self.dr.ci95),
            "ctr_ipw": _num(self.ipw),
            "matched_rounds": _num(self.matched),
        }


@dataclass(frozen=True)
class Selection:
    """Outcome of the policy selection on the training part."""

    rule: str
    n_fit: int
    n_validation: int
    fit_clicks: int
    validation_clicks: int
    validation_window: tuple[str, str]
    logged_random: Estimate
    logged_bts: Estimate
    n_bts_window: int
    candidates: tuple[CandidateScore, ...]
    selected: str

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "selected": self.selected,
            "n_fit": self.n_fit,
            "n_validation": self.n_validation,
            "validation_clicks": self.validation_clicks,
            "validation_window": list(self.validation_window),
            "candidates": [c.to_json() for c in self.candidates],
            "logged": {
                "random": {"ctr": _num(self.logged_random.value), "n": self.n_validation},
                "bts": {"ctr": _num(self.logged_bts.value), "n": self.n_bts_window},
            },
        }


@dataclass(frozen=True)
class BanditReport:
    """Result of :func:`evaluate_bandit`."""

    config: BanditConfig
    policy: str
    policy_description: str
    selection: Selection | None
    n_train: int
    n_test: int
    n_train_bts: int
    train_clicks: int
    test_clicks: int
    test_window: tuple[str, str]
    estimates: OffPolicyEstimates
    logged_random: Estimate
    logged_bts: Estimate
    n_bts_window: int
    prior: tuple[float, float]
    backoff_strengths: tuple[float, ...]

    def to_json(self) -> dict[str, Any]:
        """The machine-readable summary printed by ``evaluate bandit --json``."""
        e = self.estimates
        return {
            "waypoint": {
                "policy": self.policy,
                "ctr_ipw": _num(e.ipw.value),
                "ctr_snipw": _num(e.snipw.value),
                "ctr_dr": _num(e.dr.value),
                "ci95": _pair(e.dr.ci95),
                "ci95_ipw": _pair(e.ipw.ci95),
                "ci95_snipw": _pair(e.snipw.ci95),
                "ci95_ipw_exact": None if e.ipw_exact_ci is None else _pair(e.ipw_exact_ci),
                "ctr_dr_raw": _num(e.dr_raw.value),
                "ci95_dr_raw": _pair(e.dr_raw.ci95),
                "ctr_dm": _num(e.dm),
                "matched_rounds": _num(e.matched),
                "dr_minus_random": _num(e.dr_minus_logged.value),
                "ci95_dr_minus_random": _pair(e.dr_minus_logged.ci95),
            },
            "logged": {
                "random": {
                    "ctr": _num(self.logged_random.value),
                    "ci95": _pair(self.logged_random.ci95),
                    "n": self.n_test,
                },
                "bts": {
                    "ctr": _num(self.logged_bts.value),
                    "ci95": _pair(self.logged_bts.ci95),
                    "n": self.n_bts_window,
                },
            },
            "n_train": self.n_train,
            "n_train_bts": self.n_train_bts,
            "n_test": self.n_test,
            "test_clicks": self.test_clicks,
            "test_window": list(self.test_window),
            "policy": self.policy,
            "policy_description": self.policy_description,
            "selection": None if self.selection is None else self.selection.to_json(),
            "model": {"prior": list(self.prior), "backoff_strengths": list(self.backoff_strengths)},
            "config": {**asdict(self.config), "user_features": list(self.config.user_features)},
        }


def _num(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _pair(ci: tuple[float, float]) -> list[float | None]:
    return [_num(ci[0]), _num(ci[1])]


def _line(name: str, est: Estimate) -> str:
    lo, hi = est.ci95
    return f"  {name:<24} {est.value:8.5f}   95% CI [{lo:.5f}, {hi:.5f}]  width {hi - lo:.5f}"


def _selection_lines(sel: Selection) -> list[str]:
    header = f"  {'candidate':<14} {'DR':>8}   {'95% CI':<20}  {'IPW':>8}  {'matched':>7}"
    rows = [
        f"  {c.name:<14} {c.dr.value:8.5f}   [{c.dr.ci95[0]:.5f}, {c.dr.ci95[1]:.5f}]"
        f"  {c.ipw:8.5f}  {c.matched:7.1f}" + ("   <- selected" if c.name == sel.selected else "")
        for c in sel.candidates
    ]
    return [
        f"Policy selection on the training part only (rule: {sel.rule}):",
        f"  fit: first {sel.n_fit} training rounds ({sel.fit_clicks} clicks); validation: "
        f"last {sel.n_validation} ({sel.validation_clicks} clicks), "
        f"{sel.validation_window[0]} .. {sel.validation_window[1]}",
        header,
        *rows,
        f"  logged in the validation window: random {sel.logged_random.value:.5f}, "
        f"bts {sel.logged_bts.value:.5f} (n={sel.n_bts_window})",
        "",
    ]


def format_report(report: BanditReport) -> str:
    """Human-readable report."""
    cfg = report.config
    est = report.estimates
    exact = est.ipw_exact_ci
    lines = [
        f"Open Bandit Dataset, campaign '{cfg.campaign}'"
        + (f" (first {cfg.max_rows} rows per log)" if cfg.max_rows else ""),
        f"  train: first {report.n_train} rounds of the random log "
        f"({report.train_clicks} clicks)"
        + (f" + {report.n_train_bts} earlier rounds of the bts log" if report.n_train_bts else ""),
        f"  test:  last {report.n_test} rounds ({report.test_clicks} clicks), "
        f"{report.test_window[0]} .. {report.test_window[1]}",
        f"  root prior Beta({report.prior[0]:.3g}, {report.prior[1]:.4g}), "
        "back-off strengths by depth (position, user features...): "
        + ", ".join(f"{k:.4g}" for k in report.backoff_strengths)
        + (" (empirical Bayes)" if cfg.backoff_strength is None else ""),
        "",
        *([] if report.selection is None else _selection_lines(report.selection)),
        f"Policy: {report.policy_description}",
        *([] if report.selection is not None else ["  (fixed by --policy; no selection step)"]),
        "",
        "Waypoint policy, estimated click rate on the test rounds "
        f"(bootstrap n={cfg.n_boot}, seed={cfg.seed}):",
        _line("IPW", est.ipw),
        *(
            []
            if exact is None
            else [
                f"  {'  IPW exact binomial CI':<24} {'':8}   95% CI "
                f"[{exact[0]:.5f}, {exact[1]:.5f}]  width {exact[1] - exact[0]:.5f}"
            ]
        ),
        _line("SNIPW", est.snipw),
        _line("DR", est.dr),
        _line("  DR before clipping", est.dr_raw),
        f"  {'(direct method part)':<24} {est.dm:8.5f}",
        f"  test rounds where the policy agrees with the log: {est.matched:.1f} "
        "(sum of pi(logged item); weight pi / propensity_score)",
        "",
        "Logging policies, measured click rate over the same time window:",
        _line(f"random (n={report.n_test})", report.logged_random),
        _line(f"bts (n={report.n_bts_window})", report.logged_bts),
        "",
        "Waypoint DR minus the random policy's click rate, paired over the same test rounds:",
        _line("DR - random", est.dr_minus_logged),
    ]
    return "\n".join(lines)
