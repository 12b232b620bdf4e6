"""`Volume`: voxels with their geometry and unit — never a bare array across modules.

Conventions (those of ITK / SimpleITK and DICOM):

* ``array`` is indexed ``[k, j, i]`` = (slice, row, column) = (z, y, x), as
  :func:`SimpleITK.GetArrayFromImage` returns it;
* ``spacing_mm``, ``origin_mm`` are given in (x, y, z) = (i, j, k) order;
* coordinates are DICOM patient coordinates (LPS, mm); ``origin_mm`` is the
  centre of voxel (0, 0, 0);
* ``direction`` is the 3 × 3 matrix whose *columns* are the unit vectors of
  the i, j, k index axes in LPS (ITK's convention), stored row-major.

The position of voxel index (i, j, k) is ``origin + D · diag(spacing) · (i, j, k)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import SimpleITK as sitk

from .errors import GeometryError

__all__ = ["Volume"]

_IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
# LPS (DICOM) → RAS (NIfTI / nibabel): flip x and y.
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def _readonly_view(array: np.ndarray) -> np.ndarray:
    view = np.asarray(array).view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True, eq=False)
class Volume:
    """A 3-D image in physical units with its patient-space geometry.

    Attributes
    ----------
    array
        Voxel values, shape (nz, ny, nx); stored as a read-only view.
    spacing_mm
        Voxel size (dx, dy, dz) in mm.
    origin_mm
        LPS position (mm) of the centre of voxel (0, 0, 0).
    direction
        Row-major 3 × 3 direction cosines; column n is index axis n in LPS.
    unit
        What the values are: ``"BQML"`` (Bq/mL), ``"CNTS"``, ``"GML"``,
        ``"SUVbw"``, ``"SUL"``, ``"SUVbsa"``, ``"HU"``, ``"label"``, ``"fraction"``…
    frame_of_reference_uid
        DICOM FrameOfReferenceUID when known (used to refuse mixing patients/frames).
    """

    array: np.ndarray
    spacing_mm: tuple[float, float, float]
    origin_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: tuple[float, ...] = _IDENTITY
    unit: str = ""
    frame_of_reference_uid: str | None = field(default=None)

    def __post_init__(self) -> None:
        arr = np.asarray(self.array)
        if arr.ndim != 3:
            raise GeometryError(f"a Volume needs a 3-D array, got shape {arr.shape}")
        object.__setattr__(self, "array", _readonly_view(arr))
        object.__setattr__(self, "spacing_mm", tuple(float(s) for s in self.spacing_mm))
        object.__setattr__(self, "origin_mm", tuple(float(o) for o in self.origin_mm))
        direction = tuple(float(d) for d in np.asarray(self.direction, dtype=float).ravel())
        if len(direction) != 9:
            raise GeometryError("direction must have 9 entries (3 × 3 matrix)")
        object.__setattr__(self, "direction", direction)
        if any(not np.isfinite(s) or s <= 0 for s in self.spacing_mm):
            raise GeometryError(f"voxel spacing must be positive, got {self.spacing_mm} mm")

    # --- geometry -------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int]:
        """Array shape (nz, ny, nx)."""
        return tuple(int(n) for n in self.array.shape)  # type: ignore[return-value]

    @property
    def direction_matrix(self) -> np.ndarray:
        """3 × 3 direction cosine matrix (columns = index axes in LPS)."""
        return np.asarray(self.direction, dtype=float).reshape(3, 3)

    @property
    def voxel_volume_ml(self) -> float:
        """Volume of one voxel in mL (= cm³)."""
        dx, dy, dz = self.spacing_mm
        return dx * dy * dz / 1000.0

    @property
    def affine_lps(self) -> np.ndarray:
        """4 × 4 matrix mapping (i, j, k, 1) to LPS mm."""
        aff = np.eye(4)
        aff[:3, :3] = self.direction_matrix @ np.diag(self.spacing_mm)
        aff[:3, 3] = self.origin_mm
        return aff

    @property
    def affine_ras(self) -> np.ndarray:
        """4 × 4 NIfTI (nibabel) affine mapping (i, j, k, 1) to RAS mm."""
        return _LPS_TO_RAS @ self.affine_lps

    def index_to_lps(self, ijk: np.ndarray | Sequence[float]) -> np.ndarray:
        """LPS coordinates (mm) of index positions given as (..., 3) in (i, j, k) order."""
        ijk_arr = np.asarray(ijk, dtype=float)
        aff = self.affine_lps
        return ijk_arr @ aff[:3, :3].T + aff[:3, 3]

    def lps_to_index(self, xyz_mm: np.ndarray | Sequence[float]) -> np.ndarray:
        """Continuous (i, j, k) index of LPS points (..., 3)."""
        pts = np.asarray(xyz_mm, dtype=float)
        aff = self.affine_lps
        return (pts - aff[:3, 3]) @ np.linalg.inv(aff[:3, :3]).T

    def same_grid(self, other: Volume, tol_mm: float = 1e-3) -> bool:
        """True when both volumes share shape, spacing, origin and direction."""
        return (
            self.shape == other.shape
            and np.allclose(self.spacing_mm, other.spacing_mm, atol=tol_mm)
            and np.allclose(self.origin_mm, other.origin_mm, atol=tol_mm)
            and np.allclose(self.direction, other.direction, atol=1e-6)
        )

    def bounds_lps(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned LPS bounding box (min, max) of the voxel centres."""
        nz, ny, nx = self.shape
        corners = np.array(
            [[i, j, k] for i in (0, nx - 1) for j in (0, ny - 1) for k in (0, nz - 1)], dtype=float
        )
        pts = self.index_to_lps(corners)
        return pts.min(axis=0), pts.max(axis=0)

    # --- derivation -----------------------------------------------------------------
    def with_array(self, array: np.ndarray, unit: str | None = None) -> Volume:
        """A new Volume on the same grid with other values (and optionally another unit)."""
        arr = np.asarray(array)
        if arr.shape != self.shape:
            raise GeometryError(f"array shape {arr.shape} does not match the grid {self.shape}")
        return Volume(
            array=arr,
            spacing_mm=self.spacing_mm,
            origin_mm=self.origin_mm,
            direction=self.direction,
            unit=self.unit if unit is None else unit,
            frame_of_reference_uid=self.frame_of_reference_uid,
        )

    # --- SimpleITK bridge -----------------------------------------------------------
    def to_sitk(self) -> sitk.Image:
        """The volume as a SimpleITK image (copy)."""
        arr = np.ascontiguousarray(self.array)
        if arr.dtype == np.bool_:
            arr = arr.astype(np.uint8)
        img = sitk.GetImageFromArray(arr)
        img.SetSpacing(self.spacing_mm)
        img.SetOrigin(self.origin_mm)
        img.SetDirection(self.direction)
        return img

    @classmethod
    def from_sitk(
        cls, image: sitk.Image, unit: str = "", frame_of_reference_uid: str | None = None
    ) -> Volume:
        """Wrap a SimpleITK image (its array is copied)."""
        return cls(
            array=sitk.GetArrayFromImage(image),
            spacing_mm=tuple(image.GetSpacing()),  # type: ignore[arg-type]
            origin_mm=tuple(image.GetOrigin()),  # type: ignore[arg-type]
            direction=tuple(image.GetDirection()),
            unit=unit,
            frame_of_reference_uid=frame_of_reference_uid,
        )

    def resample_like(
        self,
        reference: Volume,
        interpolator: Literal["linear", "nearest", "bspline"] = "linear",
        default_value: float = 0.0,
        transform: sitk.Transform | None = None,
    ) -> Volume:
        """Resample onto ``reference``'s grid with SimpleITK.

        Use ``"nearest"`` for label maps. ``transform`` maps points of the
        reference grid into this volume's space (ITK convention), e.g. the
        result of a rigid registration.
        """
        interp = {
            "linear": sitk.sitkLinear,
            "nearest": sitk.sitkNearestNeighbor,
            "bspline": sitk.sitkBSpline,
        }[interpolator]
        # The reference grid by its geometry alone: no copy of its voxels.
        nz, ny, nx = reference.shape
        out = sitk.Resample(
            self.to_sitk(),
            [nx, ny, nz],
            transform if transform is not None else sitk.Transform(),
            interp,
            reference.origin_mm,
            reference.spacing_mm,
            reference.direction,
            float(default_value),
        )
        return Volume.from_sitk(
            out, unit=self.unit, frame_of_reference_uid=reference.frame_of_reference_uid
        )

    def __repr__(self) -> str:
        return (
            f"Volume(shape={self.shape}, spacing_mm={self.spacing_mm}, origin_mm={self.origin_mm}, "
            f"unit={self.unit!r}, dtype={self.array.dtype})"
        )
