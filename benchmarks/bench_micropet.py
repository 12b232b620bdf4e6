"""Benchmark: the micro-PET arm as images (issue 15) — simulate 75 images, then measure them.

Figures printed:

1. ``simulate_micropet_arm``: 15 mice × 5 time points, 0.8 mm voxels
   (55 × 43 × 130), 124I kernel, noise, NIfTI + sidecar written;
2. the physical floor measured in the same run: the 7 FFT blurs per animal
   (105 in all) and the 75 gzip'd NIfTI writes the arm cannot avoid;
3. baseline: a direct (non-FFT) convolution with the 31³ kernel
   (``scipy.ndimage.convolve``), timed on a 16³ block and scaled to the 105
   full-grid blurs;
4. ``preclinical_from_images`` on the 75 images (read, decay-correct, VOIs, %ID/g)
   and its floor, reading the 75 files.

Target: the whole arm simulates in a few seconds (< 10 s on one core).

Run: ``.venv/bin/python benchmarks/bench_micropet.py``
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from scipy import ndimage

from immunopet.core.nuclides import Nuclide
from immunopet.io import write_nifti
from immunopet.io.nifti import read_nifti
from immunopet.pipeline.preclinical_steps import preclinical_from_images, preclinical_image_options
from immunopet.simulate.micropet_arm import simulate_micropet_arm
from immunopet.simulate.mouse import Blurrer, MicroPetSystem, micropet_kernel, mouse_anatomy
from immunopet.study import load_study


def main() -> None:
    system = MicroPetSystem()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        arm = simulate_micropet_arm(root / "preclinical", seed=0, rel_to=root)
        t_sim = time.perf_counter() - t0

        kernel = micropet_kernel(Nuclide.from_name("I-124"), system)
        anat = mouse_anatomy(25.0, 6.5, voxel_mm=system.voxel_mm)
        w = anat.weights["muscle"]
        t0 = time.perf_counter()
        blurrer = Blurrer(kernel, w.shape)
        for _ in range(105):
            blurrer(w)
        t_blur = time.perf_counter() - t0
        t0 = time.perf_counter()
        for k in range(75):
            write_nifti(anat.grid.with_array(w * (k + 1)), root / "floor" / f"{k}.nii.gz")
        t_write = time.perf_counter() - t0
        block = np.ascontiguousarray(w[:16, :16, :16])
        t0 = time.perf_counter()
        ndimage.convolve(block, kernel, mode="constant")
        t_direct = (time.perf_counter() - t0) * 105 * w.size / block.size

        doc = {"name": "bench", "subjects": [{"id": "S", "scans": []}],
               "preclinical": arm.study_section}  # fmt: skip
        (root / "study.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        options, inputs = preclinical_image_options(load_study(root / "study.yaml"))
        t0 = time.perf_counter()
        table = preclinical_from_images(options)
        t_measure = time.perf_counter() - t0
        t0 = time.perf_counter()
        for path in inputs:
            np.asarray(read_nifti(path).array).sum()
        t_read = time.perf_counter() - t0

    print(f"grid {anat.grid.shape} voxels of {system.voxel_mm} mm, kernel {kernel.shape}")
    print(f"simulate 75 images            {t_sim:6.2f} s   (target < 10 s)")
    print(f"  floor: 105 FFT blurs        {t_blur:6.2f} s")
    print(f"  floor: 75 NIfTI writes      {t_write:6.2f} s")
    print(f"  baseline: direct convolve   {t_direct:6.2f} s   (ndimage.convolve, scaled from 16³)")
    print(f"measure 75 images             {t_measure:6.2f} s   ({len(table)} rows)")
    print(f"  floor: read 75 NIfTI        {t_read:6.2f} s")


if __name__ == "__main__":
    main()
