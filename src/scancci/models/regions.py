"""The 25 local regions of the SCAN attention branch and the 4 CCI quadrants.

Source: Gera & Balasubramanian 2021 and the original code (`extract_patches_attentivefeatures`
in 1980x/SCAN-CCI-FER), spec section 1. Regions come in four same-shaped groups, always in the
original order (so region k matches the original's k-th local SCAN):

    k = 0..15   the 4 x 4 block of s x s regions, row-major
    k = 16..19  the right edge, s x r (rows 4 blocks, last column)
    k = 20..23  the bottom edge, r x s
    k = 24      the corner, r x r

Two layouts:
- "grid" (default): the bottom edge is the bottom row of the grid. Works for any stride-8 map
  size n >= 5: s = ceil(n/5) and the last row/column takes the rest r = n - 4s
  (28 -> 6,6,6,6,4; 14 -> 3,3,3,3,2). Deviation from the rule for the few sizes where that
  leaves nothing (n = 6, 7, 8, 11, 12, 16): s = floor(n/5) instead (8 -> 1,1,1,1,4).
- "original": the original's layout, valid only for a 28 x 28 map. Its bottom edge is built
  wrongly: bottom region j holds feature row 24 + j, columns 0-23, laid out as a 4 x 6 grid whose
  cell (i, c) is column 6i + c. Kept for numerical parity with checkpoints of the original code.

Extraction works channels-last (B x H x W x C) and returns each group as one B x R x h x w x C
tensor: in eval a whole group goes through the shared SCAN as one batch of regions.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from scancci.errors import InvalidInputError, unknown_name

LAYOUTS = ("grid", "original")
NUM_REGIONS = 25
MIN_MAP_SIZE = 5  # 5 regions per axis need at least 5 cells
ORIGINAL_MAP_SIZE = 28  # the original's 224 x 224 input through ResNet-50 layer2


@dataclass(frozen=True)
class RegionGroup:
    """A run of same-shaped regions: indices `start`..`start + count - 1`, each `height x width`."""

    name: str
    start: int
    count: int
    height: int
    width: int


def axis_sizes(n: int) -> tuple[int, int]:
    """(s, r): four cells of size s then one of r along an axis of n stride-8 cells."""
    if n < MIN_MAP_SIZE:
        raise InvalidInputError(
            f"the stride-8 feature map is {n} cells wide but the 5 x 5 region grid needs at least "
            f"{MIN_MAP_SIZE}: use a larger input (at least 40 x 40 pixels)")
    s = math.ceil(n / 5)
    if n - 4 * s < 1:
        s = n // 5
    return s, n - 4 * s


def region_groups(height: int, width: int, layout: str = "grid") -> tuple[RegionGroup, ...]:
    """The four same-shaped groups of regions for a height x width stride-8 map, in k order."""
    check_layout(layout, height, width)
    sh, rh = axis_sizes(height)
    sw, rw = axis_sizes(width)
    bottom = (4, 6) if layout == "original" else (rh, sw)
    return (
        RegionGroup("block", 0, 16, sh, sw),
        RegionGroup("right", 16, 4, sh, rw),
        RegionGroup("bottom", 20, 4, *bottom),
        RegionGroup("corner", 24, 1, rh, rw),
    )


def check_layout(layout: str, height: int, width: int) -> None:
    """Raise a clear error for an unknown layout or a map size the layout cannot split."""
    if layout not in LAYOUTS:
        raise unknown_name("patch layout", layout, LAYOUTS)
    if layout == "original" and (height, width) != (ORIGINAL_MAP_SIZE, ORIGINAL_MAP_SIZE):
        raise InvalidInputError(
            f"patch_layout='original' reproduces the original code, which only works on a "
            f"28 x 28 stride-8 map (224 x 224 input with ResNet-50); got a {height} x {width} map. "
            "Use patch_layout='grid' for other sizes")


def extract_regions(x: torch.Tensor, layout: str = "grid") -> list[torch.Tensor]:
    """Split a B x H x W x C (channels-last) map into the four groups, each B x R x h x w x C."""
    return gather_regions(x.permute(0, 3, 1, 2), layout)


def gather_regions(x: torch.Tensor, layout: str = "grid") -> list[torch.Tensor]:
    """A B x C x H x W map -> the four groups as contiguous B x R x h x w x C tensors.

    ONE row permutation of the map's cells (the regions tile the map in both layouts), so each
    group goes into a convolution without a copy of its own, and the backward pass is the
    inverse permutation (slicing would zero-fill a whole map and add into it per group).
    """
    b, c, h, w = x.shape
    base = torch.arange(b, device=x.device).mul_(h * w)[:, None]
    order = torch.cat([(base + torch.tensor(cells, device=x.device)).reshape(-1)
                       for cells in _group_cells(h, w, layout)])  # group-major, then image
    rows = x.permute(0, 2, 3, 1).reshape(b * h * w, c)
    # the custom backward only where autograd records (TorchScript cannot trace a Function)
    rows = (_PermuteRows.apply(rows, order) if torch.is_grad_enabled() and rows.requires_grad
            else rows.index_select(0, order))
    specs = region_groups(h, w, layout)
    sizes = [b * spec.count * spec.height * spec.width for spec in specs]
    # split, not slicing: the backward of a slice zero-fills the whole map, once per group
    return [part.reshape(b, spec.count, spec.height, spec.width, c)
            for part, spec in zip(rows.split(sizes), specs, strict=True)]


@functools.lru_cache(maxsize=64)
def _group_cells(height: int, width: int, layout: str) -> tuple[tuple[int, ...], ...]:
    """Each group's map cells (row-major indices), region by region: the layout as data.

    Plain ints from numpy: a cached value made with torch ops while torch.export traces would
    hold fake or symbolic values afterwards.
    """
    check_layout(layout, height, width)
    sh, _ = axis_sizes(height)
    sw, _ = axis_sizes(width)
    top, left = 4 * sh, 4 * sw
    cell = np.arange(height * width).reshape(height, width)
    block = cell[:top, :left].reshape(4, sh, 4, sw).swapaxes(1, 2)  # 4 x 4 x s x s
    right = cell[:top, left:].reshape(4, sh, width - left)
    if layout == "original":
        # row 24 + j, columns 0-23, folded into 4 x 6: cell (i, c) = column 6i + c
        bottom = cell[top:, :left].reshape(height - top, 4, 6)
    else:
        bottom = cell[top:, :left].reshape(height - top, 4, sw).swapaxes(0, 1)  # 4 x r x s
    corner = cell[top:, left:]
    return tuple(tuple(g.reshape(-1).tolist()) for g in (block, right, bottom, corner))


class _PermuteRows(torch.autograd.Function):
    """rows[order] where `order` is a permutation; its gradient is the inverse permutation."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, rows: torch.Tensor,
                order: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(order)
        return rows.index_select(0, order)

    @staticmethod
    def backward(ctx: torch.autograd.function.BackwardCFunction, grad: torch.Tensor
                 ) -> tuple[torch.Tensor, None]:
        (order,) = ctx.saved_tensors
        return grad.index_select(0, _inverse(order)), None


def _inverse(order: torch.Tensor) -> torch.Tensor:
    """The inverse of a permutation."""
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(order.numel(), device=order.device)
    return inverse


def paste_regions(parts: list[torch.Tensor], height: int, width: int,
                  layout: str = "grid") -> torch.Tensor:
    """Inverse of `extract_regions` for one value per cell: four B x R x h x w -> B x H x W."""
    b = parts[0].shape[0]
    values = torch.cat([p.reshape(b, -1) for p in parts], dim=1)  # cells in region order
    order = torch.tensor([i for cells in _group_cells(height, width, layout) for i in cells],
                         device=values.device)
    return values.index_select(1, _inverse(order)).reshape(b, height, width)


def region_cells(height: int, width: int, layout: str = "grid") -> list[list[list[tuple[int, int]]]]:
    """For each region k, its cells as a list of rows of (map row, map column): the layout as data."""
    index = torch.arange(height * width).reshape(1, height, width, 1)
    cells = []
    for group in extract_regions(index, layout):
        for region in group[0, ..., 0]:
            cells.append([[divmod(int(v), width) for v in row] for row in region])
    return cells


def quadrant_bounds(height: int, width: int) -> list[tuple[int, int, int, int]]:
    """(top, bottom, left, right) of the 4 CCI quadrants: top-left, top-right, bottom-left, bottom-right.

    Even sizes split in halves (14 -> 0-6 / 7-13, as the original). Deviation for odd sizes (the
    original, `int(n / 2)`-sized unfold, silently drops the last row and column): the middle
    row/column belongs to both halves, which keeps the quadrants mirror-symmetric.
    """
    if height < 2 or width < 2:
        raise InvalidInputError(
            f"the stride-16 feature map is {height} x {width}; the 4 CCI quadrants need at least "
            "2 x 2: use a larger input")
    rows = [(0, math.ceil(height / 2)), (height // 2, height)]
    cols = [(0, math.ceil(width / 2)), (width // 2, width)]
    return [(r0, r1, c0, c1) for r0, r1 in rows for c0, c1 in cols]
