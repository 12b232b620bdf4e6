"""The lesion search policy: which voxels may hold a lesion, and which foci count as one.

One named object, so that ``immunopet lesions`` and ``immunopet run`` cannot
drift apart: :class:`LesionPolicy` holds every rule, :meth:`LesionPolicy.find`
applies them. The study model (:class:`immunopet.study.LesionOptions`) is the one
source of its defaults; the workflow builds the policy from it.

The rules, applied when an organ label map is given:

1. **Organ exclusion.** Organs with physiological uptake (brain, heart, kidneys,
   bladder) are left out of the search, dilated by ``exclude_margin_voxels`` so
   that the scanner blur spilling out of them is not taken for lesions.
2. **Organ-median background ratio.** A voxel belongs to a lesion only where its
   SUV is at least ``organ_background_ratio`` × the median SUV of the organ it
   lies in, so that a relative isocontour does not flood a warm organ (liver).
3. **Liver floor.** A lesion is kept only if its SUVmax is at least
   ``min_liver_ratio`` × the liver's median SUV (after the PERCIST 1.0
   liver-referenced floor of 1.5 × liver mean; Wahl et al., J Nucl Med
   2009;50:122S–150S).

Without an organ map the policy is plain segmentation
(:func:`immunopet.regions.segment_lesions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..core.volume import Volume

if TYPE_CHECKING:  # the policy is data the engine's parent builds: no SciPy there
    from .labels import LabelMap
    from .lesions import LesionSet

__all__ = ["LesionPolicy"]


def organ_medians(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Median of ``values`` in every label (index = label; 0 for the background and absent ones).

    Each label is read in its bounding box (``ndimage.find_objects``), so the
    cost follows the organs, with no sort of the whole image; the median of an
    even count is the float64 mean of the two middle values (:func:`numpy.median`).
    """
    lab = labels if np.issubdtype(labels.dtype, np.integer) else labels.astype(np.intp)
    median = np.zeros(int(lab.max(initial=0)) + 1)
    from scipy import ndimage

    for number, box in enumerate(ndimage.find_objects(lab), start=1):
        if box is not None:
            median[number] = np.median(values[box][lab[box] == number].astype(np.float64))
    return median


@dataclass(frozen=True)
class LesionPolicy:
    """Every rule of the lesion search (see the module docstring).

    Attributes
    ----------
    method
        Segmentation method as :func:`~immunopet.regions.segment_lesions` spells it
        (``"relative:0.41"``, ``"fixed:4.0"``, ``"adaptive"``).
    min_diameter_mm, seed_suv
        Smallest equivalent-sphere diameter kept; minimum SUVmax of a candidate.
    exclude_regions
        Organ names left out of the search.
    exclude_margin_voxels
        Dilation of the excluded organs (PET voxels).
    organ_background_ratio
        Voxel SUV floor as a multiple of its organ's median SUV (None: off).
    min_liver_ratio
        Lesion SUVmax floor as a multiple of the liver's median SUV (None: off).
    """

    method: str
    min_diameter_mm: float
    seed_suv: float
    exclude_regions: tuple[str, ...] = ()
    exclude_margin_voxels: int = 0
    organ_background_ratio: float | None = None
    min_liver_ratio: float | None = None

    def search_mask(self, suv: Volume, organs: LabelMap | None) -> np.ndarray | None:
        """Voxels where a lesion may lie (rules 1–2), or None without an organ map."""
        from scipy import ndimage

        from .label_kernels import label_mask

        if organs is None:
            return None
        excluded = [n for n, name in organs.names.items() if name in set(self.exclude_regions)]
        out = label_mask(organs.array, excluded)
        box = ndimage.find_objects(out.view(np.uint8))
        if self.exclude_margin_voxels and box and box[0] is not None:
            # Dilated in the excluded organs' bounding box grown by the margin: no voxel
            # beyond it can be reached, so the result is that of the whole image.
            g = int(self.exclude_margin_voxels)
            crop = tuple(
                slice(max(b.start - g, 0), min(b.stop + g, size))
                for b, size in zip(box[0], out.shape, strict=True)
            )
            structure = ndimage.generate_binary_structure(3, 1)
            out[crop] = ndimage.binary_dilation(out[crop], structure, g)
        search = ~out
        if self.organ_background_ratio:
            arr = np.asarray(suv.array)
            lab = np.asarray(organs.array)
            threshold = float(self.organ_background_ratio) * organ_medians(arr, lab)
            for k in range(lab.shape[0]):  # plane by plane: no full-volume threshold array
                search[k] &= arr[k] >= threshold[lab[k]]
        return search

    def liver_floor_suv(self, suv: Volume, organs: LabelMap | None) -> float:
        """The SUVmax a lesion must reach (rule 3); −inf when the rule does not apply."""
        from .label_kernels import label_mask

        if organs is None or not self.min_liver_ratio:
            return -np.inf
        liver = [n for n, name in organs.names.items() if name == "liver"]
        in_liver = label_mask(organs.array, liver)
        if not in_liver.any():
            return -np.inf
        return float(self.min_liver_ratio) * float(np.median(np.asarray(suv.array)[in_liver]))

    def find(self, suv: Volume, organs: LabelMap | None = None) -> LesionSet:
        """Lesions of an SUV volume under this policy (``organs`` on the SUV grid, or None)."""
        from .label_kernels import label_mask
        from .lesions import lesions_from_labels, segment_lesions

        lesions = segment_lesions(
            suv,
            self.method,
            search_mask=self.search_mask(suv, organs),
            min_diameter_mm=self.min_diameter_mm,
            seed_suv=self.seed_suv,
        )
        floor = self.liver_floor_suv(suv, organs)
        weak = lesions.table["suv_max"] < floor
        if weak.any():
            # Lesions are separate 26-connected components, so a binary mask renumbers them.
            kept = label_mask(lesions.labels.array, lesions.table["lesion_id"][~weak].to_numpy())
            lesions = lesions_from_labels(
                suv.with_array(kept.astype(np.uint8), "label"), suv, binary=True
            )
        return lesions

    @classmethod
    def plain(
        cls, method: str, min_diameter_mm: float, seed_suv: float, exclude: Sequence[str] = ()
    ) -> LesionPolicy:
        """A policy of segmentation alone (no organ rules)."""
        return cls(method, float(min_diameter_mm), float(seed_suv), tuple(exclude))
