"""The two patch layouts, cell by cell, and the region grid for other map sizes."""

from __future__ import annotations

import pytest
import torch

from scancci.errors import InvalidInputError, UnknownNameError
from scancci.models.regions import (
    axis_sizes,
    extract_regions,
    gather_regions,
    paste_regions,
    quadrant_bounds,
    region_cells,
    region_groups,
)

EDGES_28 = [(0, 6), (6, 12), (12, 18), (18, 24), (24, 28)]  # spec: 6/6/6/6/4


def _box(rows: tuple[int, int], cols: tuple[int, int]) -> list[list[tuple[int, int]]]:
    return [[(r, c) for c in range(*cols)] for r in range(*rows)]


def _expected_grid_28() -> list[list[list[tuple[int, int]]]]:
    """Spec section 1, written out: the 16, the right edge, the bottom edge, the corner."""
    regions = [_box(EDGES_28[i], EDGES_28[j]) for i in range(4) for j in range(4)]
    regions += [_box(EDGES_28[i], EDGES_28[4]) for i in range(4)]
    regions += [_box(EDGES_28[4], EDGES_28[j]) for j in range(4)]
    return [*regions, _box(EDGES_28[4], EDGES_28[4])]


def test_grid_layout_28_cell_by_cell():
    assert region_cells(28, 28, "grid") == _expected_grid_28()


def _expected_original_28() -> list[list[list[tuple[int, int]]]]:
    expected = _expected_grid_28()
    for j in range(4):  # bottom region j: row 24 + j, cell (i, c) = column 6i + c
        expected[20 + j] = [[(24 + j, 6 * i + c) for c in range(6)] for i in range(4)]
    return expected


def test_original_layout_28_cell_by_cell():
    assert region_cells(28, 28, "original") == _expected_original_28()


@pytest.mark.parametrize("layout", ["grid", "original"])
def test_every_cell_used_once(layout):
    cells = [cell for region in region_cells(28, 28, layout) for row in region for cell in row]
    assert sorted(cells) == [(r, c) for r in range(28) for c in range(28)]


@pytest.mark.parametrize(("n", "sizes"), [(28, (6, 4)), (14, (3, 2)), (7, (1, 3)), (5, (1, 1)),
                                          (10, (2, 2)), (8, (1, 4)), (6, (1, 2))])
def test_axis_sizes(n, sizes):
    s, r = axis_sizes(n)
    assert (s, r) == sizes and 4 * s + r == n and r >= 1


def test_grid_14_shapes_and_order():
    groups = region_groups(14, 14)
    assert [(g.start, g.count, g.height, g.width) for g in groups] == [
        (0, 16, 3, 3), (16, 4, 3, 2), (20, 4, 2, 3), (24, 1, 2, 2)]
    cells = region_cells(14, 14)
    assert cells[5][0][0] == (3, 3) and cells[19][0] == [(9, 12), (9, 13)]
    assert cells[21] == [[(12, 3), (12, 4), (12, 5)], [(13, 3), (13, 4), (13, 5)]]


@pytest.mark.parametrize(("h", "w", "layout"), [(28, 28, "original"), (14, 14, "grid"),
                                                (9, 13, "grid")])
def test_paste_inverts_extract(h, w, layout):
    x = torch.randn(2, h, w, 1)
    parts = [g[..., 0] for g in extract_regions(x, layout)]
    assert torch.equal(paste_regions(parts, h, w, layout), x[..., 0])


@pytest.mark.parametrize("layout", ["grid", "original"])
@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_gather_puts_each_cell_in_its_region_and_its_gradient_is_exact(layout, memory_format):
    x = torch.randn(2, 3, 28, 28, dtype=torch.float64).contiguous(memory_format=memory_format)
    regions = [g[:, j] for g in gather_regions(x, layout) for j in range(g.shape[1])]
    expected = _expected_grid_28() if layout == "grid" else _expected_original_28()  # the spec
    for region, cells in zip(regions, expected, strict=True):
        rows = torch.tensor([[r for r, _ in row] for row in cells])
        cols = torch.tensor([[c for _, c in row] for row in cells])
        assert torch.equal(region, x[:, :, rows, cols].permute(0, 2, 3, 1))
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: tuple(gather_regions(t, layout)), (x[:, :2],),
                                    fast_mode=True)


def test_original_layout_needs_28():
    with pytest.raises(InvalidInputError, match="28 x 28"):
        region_groups(14, 14, "original")
    with pytest.raises(UnknownNameError, match="grid"):
        region_groups(28, 28, "gird")


def test_too_small_map():
    with pytest.raises(InvalidInputError, match="at least 5"):
        axis_sizes(4)


def test_quadrants():
    assert quadrant_bounds(14, 14) == [(0, 7, 0, 7), (0, 7, 7, 14), (7, 14, 0, 7), (7, 14, 7, 14)]
    assert quadrant_bounds(7, 7)[3] == (3, 7, 3, 7)  # odd: the middle row/column is shared
    with pytest.raises(InvalidInputError):
        quadrant_bounds(1, 1)
