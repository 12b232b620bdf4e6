"""A clinical-size PET written once as Siemens-like DICOM, with a 117-label organ map (issue 16).

The image is what a modern digital PET/CT writes for a whole-body scan:
440 × 440 × 645 voxels of 1.65 × 1.65 × 1.65 mm (125 M voxels), Units BQML,
one int16 slice file per plane with its own RescaleSlope
(:func:`immunopet.io.dicom_write.write_pet_series`, ``flavour="siemens"``).
The label map has the TotalSegmentator v2 ``total`` numbering (117 classes):
organ "blobs" are the Voronoi cells of 117 random seeds inside an elliptic
body cylinder, cut at 45 mm from their seed (so part of the body is
unlabelled), drawn on a 8× coarser grid and repeated onto the PET grid
(nearest neighbour). Each organ has its own SUV (0.5–8), the body 0.8, with
5 % multiplicative gamma noise; 20 spherical lesions (radius 6–15 mm, SUV
8–20) make the lesion search of the per-scan recipe find something.

The files are generated once into a cache folder and reused across runs
(``done.json`` marks a complete cache).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

SHAPE = (645, 440, 440)  # z, y, x
SPACING_MM = 1.65
N_LABELS = 117
N_LESIONS = 20
#: Bumped when the generated data change (a cache of another version is rewritten).
#: 2: the patient weight makes the image hold 90 % of the injected activity, which
#: ingest's physical ceiling (at most 1.5×) requires; the body cylinder is larger than
#: a 75 kg patient.
DATA_VERSION = 2
DOSE_BQ = 3.7e8
FACTOR = 8  # coarse-grid step of the label blobs
DEFAULT_CACHE = Path("/tmp/immunopet-clinical-cache")


def _labels(rng: np.random.Generator) -> np.ndarray:
    from scipy.spatial import cKDTree

    nz, ny, nx = SHAPE
    cz, cy, cx = (-(-n // FACTOR) for n in SHAPE)
    zz, yy, xx = np.meshgrid(np.arange(cz), np.arange(cy), np.arange(cx), indexing="ij")
    pts = np.stack([zz.ravel(), yy.ravel(), xx.ravel()], axis=1).astype(float)
    ry, rx = 0.42 * cy, 0.45 * cx
    body = ((yy - cy / 2) / ry) ** 2 + ((xx - cx / 2) / rx) ** 2 <= 1.0
    inside = pts[body.ravel()]
    seeds = inside[rng.choice(len(inside), N_LABELS, replace=False)]
    cut = 45.0 / (SPACING_MM * FACTOR)
    dist, idx = cKDTree(seeds).query(pts, distance_upper_bound=cut)
    coarse = np.where(np.isfinite(dist) & body.ravel(), idx + 1, 0).astype(np.uint8)
    coarse = coarse.reshape(cz, cy, cx)
    full = np.repeat(np.repeat(np.repeat(coarse, FACTOR, 0), FACTOR, 1), FACTOR, 2)
    return np.ascontiguousarray(full[:nz, :ny, :nx])


def generate(cache: Path = DEFAULT_CACHE, seed: int = 16) -> dict[str, object]:
    """Write ``cache/pet/*.dcm`` and ``cache/labels.nii`` unless already there; return the info."""
    done = cache / "done.json"
    if done.exists():
        info = json.loads(done.read_text())
        if info.get("version") == DATA_VERSION:
            return info
    import shutil

    shutil.rmtree(cache / "pet", ignore_errors=True)
    import nibabel as nib

    from immunopet.core.nuclides import Nuclide
    from immunopet.core.scan import Acquisition
    from immunopet.core.volume import Volume
    from immunopet.io.dicom_write import write_pet_series

    rng = np.random.default_rng(seed)
    cache.mkdir(parents=True, exist_ok=True)
    labels = _labels(rng)
    nz, ny, nx = SHAPE
    yy, xx = np.ogrid[:ny, :nx]
    body2d = ((yy - ny / 2) / (0.42 * ny)) ** 2 + ((xx - nx / 2) / (0.45 * nx)) ** 2 <= 1.0
    uptake = np.concatenate([[0.8], rng.uniform(0.5, 8.0, N_LABELS)]).astype(np.float32)
    suv = uptake[labels]
    suv *= body2d[None]
    lesions = []
    for n in range(N_LESIONS):
        r_mm = float(rng.uniform(6.0, 15.0))
        r = int(np.ceil(r_mm / SPACING_MM))
        while True:
            c = (rng.integers(r + 5, nz - r - 5), rng.integers(r, ny - r), rng.integers(r, nx - r))
            if body2d[c[1], c[2]] and labels[c] > 0:
                break
        sl = tuple(slice(ci - r, ci + r + 1) for ci in c)
        kk, jj, ii = np.ogrid[-r : r + 1, -r : r + 1, -r : r + 1]
        ball = (kk**2 + jj**2 + ii**2) * SPACING_MM**2 <= r_mm**2
        value = float(rng.uniform(8.0, 20.0))
        suv[sl][ball] = value
        lesions.append({"id": f"L{n + 1}", "center_index": [int(x) for x in c], "suv": value})
    for k in range(nz):  # 5 % multiplicative noise, slice by slice (bounded memory)
        suv[k] *= rng.gamma(400.0, 1 / 400.0, size=(ny, nx)).astype(np.float32)
    start = datetime(2026, 3, 2, 10, 0, 0)
    # SUVbw = C·W/A: the weight for which the image holds 90 % of the injected activity.
    voxel_ml = SPACING_MM**3 / 1000.0
    weight_kg = float(suv.sum(dtype=np.float64)) * voxel_ml / 0.9 / 1000.0
    acq = Acquisition(
        nuclide=Nuclide.from_name("F-18"),
        units="BQML",
        decay_correction="START",
        scan_start_datetime=start,
        injection_datetime=start - timedelta(minutes=60),
        injected_activity_bq=DOSE_BQ,
        patient_weight_kg=weight_kg,
        patient_height_m=1.75,
        patient_sex="M",
        tracer="FDG",
    )
    decayed = DOSE_BQ * float(acq.nuclide.decay_factor(3600.0))
    conc = suv * np.float32(decayed / (weight_kg * 1000.0))  # Bq/mL at scan start
    del suv
    origin = (-(nx - 1) * SPACING_MM / 2, -(ny - 1) * SPACING_MM / 2, -1000.0)
    vol = Volume(conc, (SPACING_MM,) * 3, origin, unit="BQML", frame_of_reference_uid="1.2.3.16")
    write_pet_series(vol, acq, cache / "pet", flavour="siemens", patient_id="CLIN-001")
    del vol, conc
    # NIfTI is RAS, x fastest: the LPS → RAS flip of x and y in the affine.
    affine = np.diag([-SPACING_MM, -SPACING_MM, SPACING_MM, 1.0])
    affine[:3, 3] = [-origin[0], -origin[1], origin[2]]
    nib.save(nib.Nifti1Image(np.transpose(labels, (2, 1, 0)), affine), cache / "labels.nii")
    info = {
        "version": DATA_VERSION,
        "patient_weight_kg": weight_kg,
        "shape_zyx": list(SHAPE),
        "spacing_mm": SPACING_MM,
        "labels": N_LABELS,
        "present_labels": int(len(np.unique(labels)) - 1),
        "lesions": lesions,
        "pet": str(cache / "pet"),
        "label_map": str(cache / "labels.nii"),
    }
    done.write_text(json.dumps(info, indent=1))
    return info
