"""Shared test settings: a hypothesis profile without deadlines (a first call may compile a numba kernel)."""
import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "numbagrad",
    deadline=None,
    max_examples=int(os.environ.get("NUMBAGRAD_HYPOTHESIS_EXAMPLES", "25")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("numbagrad")
