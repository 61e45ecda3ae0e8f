"""A gate profile: one model's calibrated gate (policy keys + learned predictor + held-out figures).

Profiles are keyed by the *scorer* model -- the model whose logits produced the statistics the gate
reads -- by name and weights hash; the database keeps them versioned with one active per key
(``introspect.store.repositories.gate_profiles``). The catalog models ship a profile each as JSON in
``introspect/gate/profiles/`` (made by ``scripts/calibrate_catalog.py``): seeded into the database
by ``introspect db upgrade`` and used as the fallback when the database has none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from introspect.gate.policy import GatePolicy, policy_with_overrides
from introspect.gate.predictor import CorrectnessPredictor

# The policy keys a calibration may set; anything else in a stored profile is refused on load.
PROFILE_POLICY_KEYS = frozenset(
    {"min_self_certainty", "max_mean_nll", "min_predicted_correct", "stop_on_confidence"}
)
CATALOG_PACKAGE = "introspect.gate.profiles"


def split_model_ref(ref: str) -> tuple[str, str]:
    """``name@weights`` (how turns record a local model: its name and a sha256 prefix) -> (name,
    weights); a bare name has no weights."""
    name, _, weights = ref.partition("@")
    return name, weights


def weights_match(wanted: str, recorded: str) -> bool:
    """A recorded hash (often a 12-character prefix) matches a wanted one (full or a prefix);
    either side unknown matches."""
    return not wanted or not recorded or wanted.startswith(recorded) or recorded.startswith(wanted)


def scorer_ref(scorer: object) -> tuple[str, str] | None:
    """(name, weights sha256) of a scorer model object; None when it has no name."""
    name = getattr(scorer, "name", None)
    if not isinstance(name, str) or not name:
        return None
    for attribute in ("weights_sha256", "weights_hash"):
        weights = getattr(scorer, attribute, None)
        if isinstance(weights, str) and weights:
            return name, weights
    return name, ""


class ProfileError(ValueError):
    """A stored or shipped profile that does not validate."""


@dataclass(frozen=True)
class GateProfile:
    model_name: str
    weights_hash: str = ""
    version: int = 0
    policy: dict[str, Any] = field(default_factory=dict)
    predictor: CorrectnessPredictor | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    meets_target: bool = False
    source: str = "calibrate"
    id: str | None = None

    def base_policy(self) -> GatePolicy:
        """The defaults with this profile's calibrated keys applied: a job's base policy."""
        return policy_with_overrides(self.policy)

    def ref(self) -> dict[str, Any]:
        """What a trajectory records about the profile its gate used."""
        return {"id": self.id, "model": self.model_name, "weights_hash": self.weights_hash,
                "version": self.version, "source": self.source}  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "weights_hash": self.weights_hash,
            "version": self.version,
            "policy": dict(self.policy),
            "predictor": None if self.predictor is None else self.predictor.to_json(),
            "figures": self.figures,
            "meets_target": self.meets_target,
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, id: str | None = None) -> GateProfile:
        try:
            policy = dict(data.get("policy") or {})
            unknown = set(policy) - PROFILE_POLICY_KEYS
            if unknown:
                raise ProfileError(f"profile sets keys a calibration never sets: {sorted(unknown)}")
            policy_with_overrides(policy)  # validates every value
            raw_predictor = data.get("predictor")
            return cls(
                model_name=str(data["model_name"]),
                weights_hash=str(data.get("weights_hash") or ""),
                version=int(data.get("version") or 0),
                policy=policy,
                predictor=None if raw_predictor is None else CorrectnessPredictor.from_json(raw_predictor),
                figures=dict(data.get("figures") or {}),
                meets_target=bool(data.get("meets_target")),
                source=str(data.get("source") or "calibrate"),
                id=id,
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ProfileError):
                raise
            raise ProfileError(f"invalid gate profile: {exc}") from exc


def catalog_profiles() -> dict[str, GateProfile]:
    """The profiles shipped with the package, by model name."""
    return dict(_catalog_profiles())


@lru_cache(maxsize=1)
def _catalog_profiles() -> dict[str, GateProfile]:
    out: dict[str, GateProfile] = {}
    for entry in resources.files(CATALOG_PACKAGE).iterdir():
        if entry.name.endswith(".json"):
            profile = GateProfile.from_json(json.loads(entry.read_text(encoding="utf-8")))
            out[profile.model_name] = profile
    return out
