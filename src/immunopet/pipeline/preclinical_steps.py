"""Pipeline steps of the micro-PET arm measured from images.

``preclinical``              every animal image → tumour/muscle/liver %ID/g and T/M (tidy)
``preclinical_comparisons``  the paper's per-time-point Student's t-tests on that table

:func:`preclinical_image_options` turns the study's arm into the JSON-able
options of the first (hashed into its key); the images and label maps are its inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from ..core.errors import MissingFieldError
from ..io import load_scan, load_volume
from ..measure.preclinical import PRECLINICAL_COLUMNS, AnimalVois, measure_animal_image
from ..quant import activity_concentration_at_injection_bq_per_ml
from ..stats.preclinical import paper_pairs, preclinical_comparisons
from ..study import Study, parse_time_label_h

__all__ = [
    "preclinical_comparison_table",
    "preclinical_from_images",
    "preclinical_image_options",
]


def preclinical_image_options(study: Study) -> tuple[dict[str, Any], tuple[str, ...]]:
    """(options, input paths) of the image step for ``study.preclinical``."""
    arm = study.preclinical
    assert arm is not None
    animals, inputs = [], []
    for x in arm.animals:
        if not x.images:
            continue
        mbq = x.injected_activity_mbq or arm.injected_activity_mbq
        images = {t: str(study.resolve(p)) for t, p in x.images.items()}
        labels = {t: str(study.resolve(p)) for t, p in x.labels.items()}
        inputs += [*images.values(), *labels.values()]
        animals.append({
            "id": x.id, "group": x.group, "images": images, "labels": labels,
            "weight_g": x.weight_g, "injected_activity_bq": None if mbq is None else mbq * 1e6,
            "injection_datetime": None if x.injection_datetime is None
            else x.injection_datetime.isoformat(),
            "tumour_seed_mm": x.tumour_seed_mm, "muscle_centre_mm": x.muscle_centre_mm,
            "liver_centre_mm": x.liver_centre_mm,
        })  # fmt: skip
    options = {
        "animals": animals,
        "groups": [g.model_dump(mode="json") for g in arm.groups],
        "nuclide": arm.nuclide,
        "density_g_per_ml": arm.tissue_density_g_per_ml,
        "search_mm": arm.tumour_search_mm,
        "threshold": arm.tumour_threshold,
        "max_radius_mm": arm.tumour_max_radius_mm,
        "sphere_mm": arm.reference_sphere_mm,
        "label_values": dict(arm.label_values),
    }
    return options, tuple(inputs)


def preclinical_from_images(
    options: Mapping[str, Any], upstream: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """The tidy ``preclinical`` table measured from every animal image.

    Columns :data:`~immunopet.measure.preclinical.PRECLINICAL_COLUMNS` plus
    ``tracer, her2, scan_time_h`` (actual time post-injection from the header).
    ``time_h`` is the nominal time label, so that animals group by time point.

    Raises
    ------
    MissingFieldError
        An animal whose injected activity is neither in the study nor in its image header.
    """
    group_info = {g["name"]: g for g in options["groups"]}
    rows = []
    for animal in options["animals"]:
        overrides: dict[str, Any] = {}
        if animal["injected_activity_bq"] is not None:
            overrides["injected_activity_bq"] = animal["injected_activity_bq"]
        if animal["weight_g"] is not None:
            overrides["patient_weight_kg"] = animal["weight_g"] / 1000.0
        if animal["injection_datetime"] is not None:
            overrides["injection_datetime"] = datetime.fromisoformat(animal["injection_datetime"])
        info = group_info.get(animal["group"], {})
        for label, path in animal["images"].items():
            scan = load_scan(path, **overrides)
            a0 = scan.acquisition.injected_activity_bq
            if a0 is None:
                raise MissingFieldError(
                    f"animal {animal['id']!r}: no injected activity in the study file "
                    "(preclinical.animals[].injected_activity_mbq) or the image header",
                    file=path, field="injected_activity_mbq",
                )  # fmt: skip
            labels = animal["labels"].get(label)
            vois = AnimalVois(
                tumour_seed_mm=_point(animal["tumour_seed_mm"]),
                muscle_centre_mm=_point(animal["muscle_centre_mm"]),
                liver_centre_mm=_point(animal["liver_centre_mm"]),
                labels=None if labels is None else load_volume(labels),
                label_values=options["label_values"],
                search_mm=options["search_mm"], threshold=options["threshold"],
                max_radius_mm=options["max_radius_mm"], sphere_mm=options["sphere_mm"],
            )  # fmt: skip
            conc0 = activity_concentration_at_injection_bq_per_ml(scan)
            base = {
                "group": animal["group"], "animal": animal["id"],
                "time_h": parse_time_label_h(label), "tracer": info.get("tracer"),
                "her2": info.get("her2"), "scan_time_h": scan.time_post_injection_h,
            }  # fmt: skip
            for r in measure_animal_image(
                conc0, a0, vois, density_g_per_ml=options["density_g_per_ml"]
            ):
                rows.append({**base, **r})
    columns = [*PRECLINICAL_COLUMNS, "tracer", "her2", "scan_time_h"]
    df = pd.DataFrame(rows, columns=columns)
    return df.sort_values(
        ["group", "animal", "time_h", "region", "metric"], kind="stable"
    ).reset_index(drop=True)


def _point(value: Any) -> tuple[float, float, float] | None:
    return None if value is None else tuple(float(v) for v in value)  # type: ignore[return-value]


def preclinical_comparison_table(
    options: Mapping[str, Any], upstream: Mapping[str, Any]
) -> pd.DataFrame:
    """The paper's comparisons (:func:`~immunopet.stats.preclinical.preclinical_comparisons`)."""
    table = next(iter(upstream.values()))
    return preclinical_comparisons(table, paper_pairs(options["groups"]))
