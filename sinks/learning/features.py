"""Pixel features of a multi-band image: band values and optional spectral indices.

A :class:`FeatureSpec` fixes the order of features a model expects (the bands in file
order, then the indices), so the same spec turns training samples and every block of the
image into the same columns. Pure array functions: a block ``(bands, rows, cols)`` in, a
matrix ``(pixels, features)`` out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sinkplan.layers.errors import InputError

__all__ = ["INDICES", "FeatureSpec", "valid_pixels"]

#: Spectral indices a spec can add, and the bands each needs.
INDICES: dict[str, tuple[str, ...]] = {
    "ndvi": ("red", "nir"),  # (nir − red) / (nir + red)
    "ndwi": ("green", "nir"),  # (green − nir) / (green + nir), McFeeters 1996
}


@dataclass(frozen=True)
class FeatureSpec:
    """Which columns a model sees, in order.

    Parameters
    ----------
    band_names : tuple of str
        Name of each image band, in file order (lower case; ``band1``… when unnamed).
    indices : tuple of str
        Indices from :data:`INDICES` appended after the bands.
    band_nodata : float or None
        The image's nodata value: a pixel with it in any band has no features.

    Examples
    --------
    >>> spec = FeatureSpec(("blue", "green", "red", "nir"), ("ndvi",))
    >>> spec.names
    ('blue', 'green', 'red', 'nir', 'ndvi')
    >>> spec.compute(np.array([[[0]], [[0]], [[100]], [[300]]], dtype="uint16")).round(3).tolist()
    [[0.0, 0.0, 100.0, 300.0, 0.5]]
    """

    band_names: tuple[str, ...]
    indices: tuple[str, ...] = ()
    band_nodata: float | None = None
    _pos: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = tuple(str(b).strip().lower() for b in self.band_names)
        object.__setattr__(self, "band_names", names)
        object.__setattr__(self, "indices", tuple(str(i).strip().lower() for i in self.indices))
        if len(set(names)) != len(names):
            raise InputError(f"band names {list(names)} repeat; every band needs its own name")
        pos = {b: i for i, b in enumerate(names)}
        for idx in self.indices:
            if idx not in INDICES:
                raise InputError(f"index {idx!r} is not one of {', '.join(INDICES)}")
            need = [b for b in INDICES[idx] if b not in pos]
            if need:
                raise InputError(
                    f"index {idx!r} needs bands named {list(INDICES[idx])}; the image's bands are {list(names)} "
                    "(name them with gdal_edit.py or pass band_names)", params=("band_names",))
        object.__setattr__(self, "_pos", pos)

    @property
    def names(self) -> tuple[str, ...]:
        """Feature names in column order."""
        return self.band_names + self.indices

    @property
    def n_bands(self) -> int:
        """Bands the image must have."""
        return len(self.band_names)

    def to_dict(self) -> dict:
        """JSON-ready form (stored beside a model)."""
        return {"band_names": list(self.band_names), "indices": list(self.indices), "band_nodata": self.band_nodata}

    @classmethod
    def from_dict(cls, d: dict) -> FeatureSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(d["band_names"]), tuple(d.get("indices", ())), d.get("band_nodata"))

    def compute(self, bands: np.ndarray) -> np.ndarray:
        """Features of pixels: ``bands`` (nbands, ...) → float32 (npixels, nfeatures).

        Indices are 0 where their denominator is 0.
        """
        b = np.asarray(bands)
        if b.shape[0] != self.n_bands:
            raise InputError(f"image block has {b.shape[0]} bands, the features need {self.n_bands} ({list(self.band_names)})")
        flat = b.reshape(self.n_bands, -1).astype(np.float32)
        cols = [flat[i] for i in range(self.n_bands)]
        for idx in self.indices:
            a, c = (flat[self._pos[n]] for n in INDICES[idx])
            if idx == "ndvi":
                num, den = c - a, c + a  # (nir − red) / (nir + red)
            else:
                num, den = a - c, a + c  # (green − nir) / (green + nir)
            out = np.zeros_like(num)
            np.divide(num, den, out=out, where=den != 0)
            cols.append(out)
        return np.stack(cols, axis=1)

    def valid(self, bands: np.ndarray) -> np.ndarray:
        """True for pixels with data in every band, shape ``bands.shape[1:]``."""
        return valid_pixels(bands, self.band_nodata)


def valid_pixels(bands: np.ndarray, nodata: float | None) -> np.ndarray:
    """Pixels whose bands are all finite and none equals ``nodata``."""
    b = np.asarray(bands)
    ok = np.ones(b.shape[1:], dtype=bool)
    if np.issubdtype(b.dtype, np.floating):
        ok &= np.isfinite(b).all(axis=0)
    if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
        ok &= ~(b == nodata).any(axis=0)
    return ok
