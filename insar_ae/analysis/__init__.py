"""Analysis toolkit: pure functions on the canonical Dataset (native resolution, never images).

- reference: :func:`reference_to_point`, :func:`reference_to_area`, :func:`reference_to_date`
- profiles: :func:`swath_profile`, :func:`point_timeseries`, :func:`valid_pixel_near`
- offsets: :func:`fit_step`, :func:`fit_creep` (:class:`OffsetFit`), :func:`fit_offset` (the one
  choice of model, ``OFFSET_MODELS``, at a crossing: offset mm, far minus near side),
  :func:`locate_fault`, :func:`offset_series`, :func:`detect_transient` (:class:`Transient`),
  :func:`background_rate`
- detection: :func:`detection_map`, :func:`fault_candidates`
- stats: :func:`rms_per_date`, :func:`structure_function`, :func:`fit_covariance`,
  :func:`noise_summary`
- geometry: :func:`crossing_line` (a profile line across a candidate trace)
- faults: :func:`locate_crossing` (:class:`Crossing`, the one crossing policy),
  :func:`candidate_profiles` (:class:`CandidateProfile`)
- velocity: :func:`velocity` (per-pixel linear rate, optional annual terms), :func:`fit_rate`
  (:class:`RateFit`: one series, rate and annual amplitude with 1-sigma)

Units and signs: values in mm, LOS positive toward the satellite; distances in the dataset's
x/y units (metres, or arc degrees for degree datasets; see ``docs/analysis.md``).
"""

from __future__ import annotations

from insar_ae.analysis.detection import detection_map, fault_candidates
from insar_ae.analysis.faults import CandidateProfile, Crossing, candidate_profiles, locate_crossing
from insar_ae.analysis.geometry import crossing_line
from insar_ae.analysis.offset_series import offset_series
from insar_ae.analysis.offsets import (
    OFFSET_MODELS,
    OffsetFit,
    creep_curve,
    fit_creep,
    fit_offset,
    fit_step,
    locate_fault,
)
from insar_ae.analysis.profiles import point_timeseries, swath_profile, valid_pixel_near
from insar_ae.analysis.reference import reference_to_area, reference_to_date, reference_to_point
from insar_ae.analysis.stats import fit_covariance, noise_summary, rms_per_date, structure_function
from insar_ae.analysis.transients import (
    Transient,
    background_rate,
    detect_transient,
    transient_curve,
)
from insar_ae.analysis.velocity import RateFit, fit_rate, velocity

__all__ = [
    "OFFSET_MODELS",
    "CandidateProfile",
    "Crossing",
    "OffsetFit",
    "RateFit",
    "Transient",
    "background_rate",
    "candidate_profiles",
    "creep_curve",
    "crossing_line",
    "detect_transient",
    "detection_map",
    "fault_candidates",
    "fit_covariance",
    "fit_creep",
    "fit_offset",
    "fit_rate",
    "fit_step",
    "locate_crossing",
    "locate_fault",
    "noise_summary",
    "offset_series",
    "point_timeseries",
    "reference_to_area",
    "reference_to_date",
    "reference_to_point",
    "rms_per_date",
    "structure_function",
    "swath_profile",
    "transient_curve",
    "valid_pixel_near",
    "velocity",
]
