"""Motion-compensated temporal fusion of a video's person probabilities: the step the Python reference pipeline, the
Android demo's Java core (core/MotionFusion.java) and the ARM cost count (benchmark/parity/motion_fusion_step.c)
share. Its parameters travel in model_spec.json's `temporal` section.

Per frame, at the model's input resolution (H x W, the RGB the model was fed):

1. Coarse luminance. Every F x F cell (F = `coarse`) gets the sum of the integer luma (77 R + 150 G + 29 B) >> 8 of
   its pixels, scaled to four pixels: L, (H // F) x (W // F), 0..1020. A 2 x 2 sum of L gives L2 at 1 / 2F.
2. Global motion, integers only. The shift (u, v) of L2 that minimises the sum of absolute differences against the
   previous frame's L2 over a fixed inner region (a margin of `search` cells on every side), for |u|, |v| <= `search`;
   then the same at L around (2u, 2v), +-1. One least-squares step (Lucas-Kanade, on every second row of cells,
   integer sums solved in doubles) then gives an affine sub-cell move and a brightness change across the frame (gain
   and offset, with a gradient). The frame moved by d(p) model pixels: cur(p) ~ prev(p - d(p)).
3. Where the motion explains the picture: per cell, what the fitted move and brightness change leave of the
   difference between the frames, r / 1020, and w = alpha + (1 - alpha) min(1, r / gate): the weight of the new
   probability. Cells whose source is outside the previous frame get w = 1. When more than `cut` of the cells have
   r >= gate the motion does not explain the frame (a scene cut, a move beyond the search) and the step starts
   over: w = 1. When the light changed much (the fitted gain moved by more than `light`), alpha rises linearly to 1 at
   twice `light`: the model's own output changes with the light, and the history would hold the old one. The same
   holds for a fast pan: when the whole-cell move exceeds `jump` of the frame's width (or height) in one frame, the
   step starts over (F |u| > jump W or F |v| > jump H, compared in doubles).
4. Fusion. The previous fused probability moved tile by tile (`tile` pixels square; the affine move at the tile's
   centre; bilinear with four fixed weights), and s = T + w (P - T), with w of the pixel's cell (nearest); pixels
   whose source is outside take P. Where the model now contradicts the moved history (|P - T| > `contradict`), w
   rises to 1 at a difference of 1: max(w, min(1, (|P - T| - c) (1 / (1 - c)))), so a mask the model no longer gives
   (a poor first frame, the answer before a light change) is not held for the EMA's whole memory.

Everything is integer or float32, in this order, so that Java and C compute the same values to rounding."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

F32 = np.float32
NCOLS = 10  # the least-squares columns: an affine move (6) and a brightness that changes across the frame (4)


@dataclass(frozen=True)
class FusionParams:
    alpha: float = 0.05  # weight of the new probability where the moved previous frame explains the picture
    gate: float = 0.2  # residual (0..1) from which a cell counts as not explained and takes the new probability
    coarse: int = 4  # model pixels per coarse cell (the motion search works at 1/coarse and 1/(2 coarse))
    search: int = 3  # search radius in cells at 1/(2 coarse): moves up to 2 * coarse * search model pixels a frame
    cut: float = 0.3  # share of unexplained cells from which the frame starts over (normal frames: < 0.02)
    tile: int = 16  # model pixels per side of the tiles the previous map is moved by (one move each)
    light: float = 0.3  # a brightness change (fitted gain) beyond this gives up the history, wholly at twice it
    jump: float = 0.04  # a whole-frame move beyond this share of the frame's width (height) in one frame starts over
    contradict: float = 0.5  # |new - moved history| beyond this raises the new probability's weight, wholly at 1

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha <= 1.0:
            raise ValueError(f"fusion alpha {self.alpha} must be in (0, 1]")
        if not self.gate > 0.0:
            raise ValueError(f"fusion gate {self.gate} must be > 0")
        if self.coarse < 2 or self.coarse % 2:
            raise ValueError(f"fusion coarse {self.coarse} must be an even number >= 2")
        if not 1 <= self.search <= 8:
            raise ValueError(f"fusion search {self.search} must be 1..8 cells")
        if not 0.0 < self.cut <= 1.0:
            raise ValueError(f"fusion cut {self.cut} must be in (0, 1]")
        if not 0.0 < self.light <= 1.0:
            raise ValueError(f"fusion light {self.light} must be in (0, 1]")
        if not 0.0 < self.jump <= 1.0:
            raise ValueError(f"fusion jump {self.jump} must be in (0, 1]")
        if not 0.0 < self.contradict < 1.0:
            raise ValueError(f"fusion contradict {self.contradict} must be in (0, 1)")
        if not 1 <= self.tile <= 64:
            raise ValueError(f"fusion tile {self.tile} must be 1..64 pixels")


@dataclass(frozen=True)
class Motion:
    """The estimated global move of one frame against the previous one, in model pixels, and whether the step
    started over (the motion did not explain the frame)."""

    dx: float
    dy: float
    reset: bool
    unexplained: float  # share of valid cells with r >= gate (1 when it started over before the residual)


def coarse_luma(rgb: NDArray[Any], coarse: int) -> NDArray[np.int32]:
    """L: per coarse cell the sum of the integer luma of its pixels, scaled to 4 pixels (0..1020):
    (4 sum + F^2 // 2) // F^2 (rgb: H x W x 3 uint8; a last partial row or column of cells is left out)."""
    h, w = rgb.shape[0] // coarse, rgb.shape[1] // coarse
    if h < 4 or w < 4:
        raise ValueError(f"a {rgb.shape[0]}x{rgb.shape[1]} frame is too small for coarse cells of {coarse}")
    x = rgb[: h * coarse, : w * coarse].astype(np.int32)
    luma = (77 * x[..., 0] + 150 * x[..., 1] + 29 * x[..., 2]) >> 8
    total = luma.reshape(h, coarse, w, coarse).sum(axis=(1, 3))
    area = coarse * coarse
    return np.asarray((4 * total + area // 2) // area, np.int32)


def halve(lum: NDArray[np.int32]) -> NDArray[np.int32]:
    """L2: 2 x 2 sums of L (an odd last row or column is dropped)."""
    h, w = lum.shape[0] // 2, lum.shape[1] // 2
    c = lum[: 2 * h, : 2 * w]
    return np.asarray(c[0::2, 0::2] + c[0::2, 1::2] + c[1::2, 0::2] + c[1::2, 1::2], np.int32)


def sad(cur: NDArray[np.int32], prev: NDArray[np.int32], u: int, v: int, margin: int) -> int:
    """Sum over the inner region (margin cells off every side) of |cur(p) - prev(p - (u, v))|."""
    h, w = cur.shape
    c = cur[margin : h - margin, margin : w - margin]
    p = prev[margin - v : h - margin - v, margin - u : w - margin - u]
    return int(np.abs(c.astype(np.int64) - p).sum())


def _best(cur: NDArray[np.int32], prev: NDArray[np.int32], cu: int, cv: int, *, radius: int, margin: int) -> tuple[
    int, int, dict[tuple[int, int], int]
]:  # fmt: skip
    """The shift within radius of (cu, cv) with the lowest sum (the first in row-major order on a tie)."""
    sums: dict[tuple[int, int], int] = {}
    best = (cu - radius, cv - radius)
    for v in range(cv - radius, cv + radius + 1):
        for u in range(cu - radius, cu + radius + 1):
            sums[(u, v)] = sad(cur, prev, u, v, margin)
            if sums[(u, v)] < sums[best]:
                best = (u, v)
    return best[0], best[1], sums


def integer_shift(cur: NDArray[np.int32], prev: NDArray[np.int32], search: int) -> tuple[int, int]:
    """(u, v) in cells of L: the whole-cell move of the previous L that matches the current one best."""
    if min(cur.shape) // 2 <= 2 * search + 1:
        raise ValueError(f"coarse luminance {cur.shape} is too small for a search of {search} cells")
    u2, v2, _ = _best(halve(cur), halve(prev), 0, 0, radius=search, margin=search)
    u, v, _ = _best(cur, prev, 2 * u2, 2 * v2, radius=1, margin=2 * search + 1)
    return u, v


@dataclass(frozen=True)
class Region:
    """Cells of L where the previous frame moved by (u, v) and both frames' central differences are defined."""

    y0: int
    y1: int
    x0: int
    x1: int

    @staticmethod
    def of(shape: tuple[int, ...], u: int, v: int) -> Region:
        h, w = shape[0], shape[1]
        return Region(max(1, 1 + v), min(h - 1, h - 1 + v), max(1, 1 + u), min(w - 1, w - 1 + u))

    @property
    def cells(self) -> int:
        return max(0, self.y1 - self.y0) * max(0, self.x1 - self.x0)


def design(cur: NDArray[np.int32], prev: NDArray[np.int32], u: int, v: int, reg: Region) -> tuple[
    NDArray[np.int64], NDArray[np.int64], tuple[NDArray[np.int64], NDArray[np.int64]]
]:  # fmt: skip
    """Per cell of the region: the columns J (gx, gx X, gx Y, gy, gy X, gy Y, Ls, Ls X, Ls Y, 1) and It = L - Ls,
    integers. Ls is the previous L moved by (u, v); gx, gy the sums of both frames' central differences; X, Y the cell's
    position from the centre cell (W // 2, H // 2), returned as well."""
    c = cur.astype(np.int64)
    sh = np.zeros_like(c)
    h, w = c.shape
    sh[max(0, v) : h + min(0, v), max(0, u) : w + min(0, u)] = prev[
        max(0, -v) : h - max(0, v), max(0, -u) : w - max(0, u)
    ]
    y0, y1, x0, x1 = reg.y0, reg.y1, reg.x0, reg.x1
    lc, ls = c[y0:y1, x0:x1], sh[y0:y1, x0:x1]
    gx = c[y0:y1, x0 + 1 : x1 + 1] - c[y0:y1, x0 - 1 : x1 - 1] + sh[y0:y1, x0 + 1 : x1 + 1] - sh[y0:y1, x0 - 1 : x1 - 1]
    gy = c[y0 + 1 : y1 + 1, x0:x1] - c[y0 - 1 : y1 - 1, x0:x1] + sh[y0 + 1 : y1 + 1, x0:x1] - sh[y0 - 1 : y1 - 1, x0:x1]
    yy, xx = np.mgrid[y0:y1, x0:x1]
    xs, ys = (xx - w // 2).astype(np.int64), (yy - h // 2).astype(np.int64)
    cols = np.stack([gx, gx * xs, gx * ys, gy, gy * xs, gy * ys, ls, ls * xs, ls * ys, np.ones_like(ls)], axis=-1)
    return cols.reshape(-1, NCOLS), (lc - ls).reshape(-1), (xs.reshape(-1), ys.reshape(-1))


def solve(a: list[list[float]], b: list[float]) -> list[float] | None:
    """Gaussian elimination with partial pivoting, in doubles, in a fixed order; None when singular."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    scale = max(abs(m[i][i]) for i in range(n))
    if not scale > 0.0:
        return None
    for k in range(n):
        piv = k
        for i in range(k + 1, n):
            if abs(m[i][k]) > abs(m[piv][k]):
                piv = i
        if not abs(m[piv][k]) > 1e-12 * scale:
            return None
        m[k], m[piv] = m[piv], m[k]
        for i in range(k + 1, n):
            f = m[i][k] / m[k][k]
            for j in range(k, n + 1):
                m[i][j] = m[i][j] - f * m[k][j]
    x = [0.0] * n
    for k in range(n - 1, -1, -1):
        acc = m[k][n]
        for j in range(k + 1, n):
            acc = acc - m[k][j] * x[j]
        x[k] = acc / m[k][k]
    return x


def refine(cols: NDArray[np.int64], it: NDArray[np.int64]) -> list[float]:
    """The least-squares affine and brightness terms p (It ~ J p); zeros when the system is singular or the
    sub-cell move it gives exceeds one cell (the whole-cell search was off)."""
    a = (cols.T @ cols).tolist()
    b = (cols.T @ it).tolist()
    p = solve([[float(x) for x in row] for row in a], [float(x) for x in b])
    if p is None or not all(math.isfinite(x) for x in p) or abs(4.0 * p[0]) > 1.0 or abs(4.0 * p[3]) > 1.0:
        return [0.0] * NCOLS
    return p


def residual_weights(
    cols: NDArray[np.int64],
    it: NDArray[np.int64],
    pos: tuple[NDArray[np.int64], NDArray[np.int64]],
    p: list[float],
    params: FusionParams,
) -> tuple[NDArray[np.float32], int]:
    """Per cell of the region the weight of the new probability (float32), and how many cells the motion does not
    explain (residual >= gate). The prediction, in doubles and in this order:
    ((gx ((p0 + p2 Y) + p1 X) + gy ((p3 + p5 Y) + p4 X)) + Ls ((p6 + p8 Y) + p7 X)) + p9."""
    f = cols.astype(np.float64)
    gx, gy, ls = f[:, 0], f[:, 3], f[:, 6]
    xs, ys = pos[0].astype(np.float64), pos[1].astype(np.float64)
    ax = (p[0] + p[2] * ys) + p[1] * xs
    ay = (p[3] + p[5] * ys) + p[4] * xs
    al = (p[6] + p[8] * ys) + p[7] * xs
    pred = ((gx * ax + gy * ay) + ls * al) + p[9]
    ratio = np.minimum(1.0, np.abs(it.astype(np.float64) - pred) / (1020.0 * params.gate))
    a = params.alpha
    a = a + (1.0 - a) * min(1.0, max(0.0, abs(p[6]) - params.light) / params.light)  # the light changed: the
    w = (a + (1.0 - a) * ratio).astype(np.float32)  # model's own output changes with it, so trust the history less
    return w, int(np.count_nonzero(ratio >= 1.0))


def tile_shift(
    p: list[float], shift: tuple[int, int], at: tuple[float, float], *, coarse: int, cells: tuple[int, ...]
) -> tuple[np.float32, np.float32]:
    """The move (model pixels) at model position (xm, ym): F (u + dx(X, Y)), F (v + dy(X, Y))."""
    (u, v), (xm, ym) = shift, at
    half = coarse / 2.0 - 0.5
    xs = (xm - half) / coarse - (cells[1] // 2)
    ys = (ym - half) / coarse - (cells[0] // 2)
    dx = -4.0 * (p[0] + p[1] * xs + p[2] * ys)
    dy = -4.0 * (p[3] + p[4] * xs + p[5] * ys)
    return F32(coarse * (u + dx)), F32(coarse * (v + dy))


def fuse_tile(
    out: NDArray[np.float32],
    prev: NDArray[np.float32],
    prob: NDArray[np.float32],
    wpix: NDArray[np.float32],
    *,
    box: tuple[int, int, int, int],
    move: tuple[np.float32, np.float32],
    contradict: float,
) -> None:
    """Within box (y0, y1, x0, x1): out = t + w (prob - t), t the previous map moved by move (bilinear, four fixed
    weights), where all four source pixels are inside; elsewhere out keeps prob. w: the cell's weight, raised where
    prob contradicts the moved map (see the module's docstring; float32, in that order)."""
    h, w = prev.shape
    ndx, ndy = F32(-move[0]), F32(-move[1])
    ix, iy = math.floor(ndx), math.floor(ndy)
    fx, fy = F32(ndx - F32(ix)), F32(ndy - F32(iy))
    one = F32(1.0)
    w00, w01, w10, w11 = (one - fy) * (one - fx), (one - fy) * fx, fy * (one - fx), fy * fx
    y0, y1 = max(box[0], -iy), min(box[1], h - 1 - iy)
    x0, x1 = max(box[2], -ix), min(box[3], w - 1 - ix)
    if y1 <= y0 or x1 <= x0:
        return
    s = prev
    a = s[y0 + iy : y1 + iy, x0 + ix : x1 + ix]
    b = s[y0 + iy : y1 + iy, x0 + ix + 1 : x1 + ix + 1]
    c = s[y0 + iy + 1 : y1 + iy + 1, x0 + ix : x1 + ix]
    d = s[y0 + iy + 1 : y1 + iy + 1, x0 + ix + 1 : x1 + ix + 1]
    t = w00 * a + w01 * b + w10 * c + w11 * d
    pp = prob[y0:y1, x0:x1]
    thr, inv = F32(contradict), F32(1.0 / (1.0 - contradict))
    diff = pp - t
    ww = np.maximum(wpix[y0:y1, x0:x1], np.minimum((np.abs(diff) - thr) * inv, one))
    out[y0:y1, x0:x1] = t + ww * diff


@dataclass
class MotionFusion:
    """State across the frames of one stream: the previous coarse luminance and fused probability."""

    params: FusionParams
    prev_l: NDArray[np.int32] | None = None
    prev_s: NDArray[np.float32] | None = None
    last: Motion | None = None

    def reset(self) -> None:
        self.prev_l = self.prev_s = self.last = None

    def step(self, prob: NDArray[Any], rgb: NDArray[Any]) -> NDArray[np.float32]:
        """prob: this frame's person probability (H x W); rgb: the frame at the same size (H x W x 3, uint8)."""
        pr = np.asarray(prob, np.float32)
        if rgb.ndim != 3 or rgb.shape[:2] != pr.shape or rgb.shape[2] != 3:
            raise ValueError(f"probability {pr.shape} and frame {rgb.shape} differ in size")
        lum = coarse_luma(rgb, self.params.coarse)
        out = pr.copy()
        if self.prev_s is not None and self.prev_l is not None and self.prev_s.shape == pr.shape:
            self.last = self._fuse(out, pr, lum)
        else:
            self.last = None
        self.prev_l, self.prev_s = lum, out
        return out

    def _fuse(self, out: NDArray[np.float32], pr: NDArray[np.float32], lum: NDArray[np.int32]) -> Motion:
        assert self.prev_l is not None and self.prev_s is not None
        prm = self.params
        f = prm.coarse
        u, v = integer_shift(lum, self.prev_l, prm.search)
        # a fast pan: the framing changed, and the model's output with it (what is in view, where the edges cut)
        pan = f * abs(u) > prm.jump * pr.shape[1] or f * abs(v) > prm.jump * pr.shape[0]
        reg = Region.of(lum.shape, u, v)
        if pan or reg.cells < 16:
            return Motion(float(f * u), float(f * v), True, 1.0)
        cols, it, pos = design(lum, self.prev_l, u, v, reg)
        rows = (pos[1] - pos[1][0]) % 2 == 0  # the least squares use every second row of the region: half the cost
        p = refine(cols[rows], it[rows])
        w_reg, unexplained = residual_weights(cols, it, pos, p, prm)
        centre = tile_shift(p, (u, v), ((pr.shape[1] - 1) / 2.0, (pr.shape[0] - 1) / 2.0), coarse=f, cells=lum.shape)
        motion = Motion(float(centre[0]), float(centre[1]), unexplained > prm.cut * reg.cells, unexplained / reg.cells)
        if motion.reset:
            return motion
        w_cell = np.ones(lum.shape, np.float32)
        w_cell[reg.y0 : reg.y1, reg.x0 : reg.x1] = w_reg.reshape(reg.y1 - reg.y0, reg.x1 - reg.x0)
        h, w = pr.shape
        cy = np.minimum(np.arange(h) // f, lum.shape[0] - 1)
        cx = np.minimum(np.arange(w) // f, lum.shape[1] - 1)
        wpix = w_cell[cy][:, cx]
        t = prm.tile
        for y0 in range(0, h, t):
            for x0 in range(0, w, t):
                y1, x1 = min(h, y0 + t), min(w, x0 + t)
                move = tile_shift(p, (u, v), ((x0 + x1 - 1) / 2.0, (y0 + y1 - 1) / 2.0), coarse=f, cells=lum.shape)
                fuse_tile(out, self.prev_s, pr, wpix, box=(y0, y1, x0, x1), move=move, contradict=prm.contradict)
        return motion
