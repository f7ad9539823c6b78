"""A fast GrabCut-style graph cut: colour GMMs + s-t max-flow (PyMaxflow), solved coarse-to-fine.

OpenCV's ``grabCut`` iterates GMM fitting and a full-resolution max-flow, which costs seconds on
a 512×512 region. Here the iterations run on a downscaled copy (longer side ≤ ``work_side``),
then the boundary is re-solved once at full resolution in a narrow band around it with the same
colour models and full-resolution contrast, so edges stay pixel-accurate. Energy as GrabCut:
unary = −log GMM likelihood (5 components per side), pairwise = γ·exp(−β‖Δz‖²)/dist on 8
neighbours. Hard constraints: outside the box = background, scribbles = their side.

Three changes make it hold on real photos, where GrabCut's energy as is often keeps nothing
(a car in a street: the road and the other cars outside the box explain every colour in it):

* the smoothness γ is scaled with the working scale: the unary terms add up over the area
  and the boundary term over the length, so on a copy downscaled by s the same γ would weigh
  the boundary 1/s times more (3× for a 480-px photo) than at full resolution;
* from a box, the background colour model is fitted on the surroundings of the box (``local_bg``
  times its size around it, plus what the cut leaves in the box), not on the whole image;
* a box holds an object: when the cut keeps less than ``min_fill`` of the box, the foreground
  cost inside the box is lowered step by step until it keeps that much (never empty).

Pure: numpy, OpenCV, PyMaxflow.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import maxflow
import numpy as np

HARD = 1e9
_OFFSETS = ((0, 1, 1.0), (1, 0, 1.0), (1, 1, 1 / np.sqrt(2)), (1, -1, 1 / np.sqrt(2)))


@dataclass(frozen=True)
class CutSettings:
    smoothness: float = 25.0   # γ (GrabCut uses 50), at full resolution
    iterations: int = 4
    work_side: int = 160
    band: int = 3              # extra band half-width at full resolution (px), besides the scale
    components: int = 5
    local_bg: float = 0.25     # box: background model from this fraction of the box size around it
    min_fill: float = 0.05     # box: the least fraction of the box kept as foreground


class GMM:
    """A full-covariance Gaussian mixture fitted GrabCut-style (hard component assignment)."""

    def __init__(self, x: np.ndarray, k: int) -> None:
        k = max(1, min(k, len(x)))
        cv2.setRNGSeed(7)   # deterministic k-means initialisation
        crit = (cv2.TERM_CRITERIA_MAX_ITER + cv2.TERM_CRITERIA_EPS, 10, 1.0)
        if k > 1:
            _, lab, _ = cv2.kmeans(x.astype(np.float32), k, None, crit, 1, cv2.KMEANS_PP_CENTERS)
            lab = lab.ravel()
        else:
            lab = np.zeros(len(x), np.int32)
        self.fit(x, lab, k)

    def fit(self, x: np.ndarray, lab: np.ndarray, k: int | None = None) -> None:
        k = k or len(self.w)
        w, means, icov, logdet = [], [], [], []
        for c in range(k):
            xc = x[lab == c]
            if len(xc) < 2:
                continue
            mu = xc.mean(axis=0)
            cov = np.cov(xc, rowvar=False) + np.eye(3) * 1e-2
            w.append(len(xc))
            means.append(mu)
            icov.append(np.linalg.inv(cov))
            logdet.append(np.linalg.slogdet(cov)[1])
        if not w:   # degenerate: one broad component
            mu = x.mean(axis=0) if len(x) else np.zeros(3)
            w, means, icov, logdet = [1], [mu], [np.eye(3) / 400.0], [3 * np.log(400.0)]
        self.w = np.asarray(w, np.float64) / np.sum(w)
        self.means = np.asarray(means)
        self.icov = np.asarray(icov)
        self.chol = np.linalg.cholesky(self.icov)
        self.logdet = np.asarray(logdet)

    def component_loglik(self, x: np.ndarray) -> np.ndarray:
        """(N, K) log(w_k · N(x | μ_k, Σ_k)) up to the shared constant."""
        out = np.empty((len(x), len(self.w)))
        for c in range(len(self.w)):
            y = (x - self.means[c]) @ self.chol[c]   # Σ⁻¹ = L Lᵀ → Mahalanobis = ‖(x−μ) L‖²
            out[:, c] = np.log(self.w[c]) - 0.5 * self.logdet[c] - 0.5 * np.einsum("ij,ij->i", y, y)
        return out

    def nll(self, x: np.ndarray) -> np.ndarray:
        ll = self.component_loglik(x)
        mx = ll.max(axis=1)
        return -(mx + np.log(np.exp(ll - mx[:, None]).sum(axis=1)))


def _beta(img: np.ndarray) -> float:
    """GrabCut's β = 1 / (2·mean‖Δz‖²) over the 8-neighbour pairs."""
    tot, n = 0.0, 0
    for dy, dx, _ in _OFFSETS:
        a, b = _pair_views(img, dy, dx)
        d = a.astype(np.float32) - b.astype(np.float32)
        d = d.reshape(-1)
        tot += float(np.dot(d, d))
        n += d.size // 3
    return 1.0 / (2.0 * tot / max(n, 1) + 1e-9)


def _pair_views(arr: np.ndarray, dy: int, dx: int) -> tuple[np.ndarray, np.ndarray]:
    """Views (p, p + (dy, dx)) over all pixels p whose neighbour is inside the array."""
    h, w = arr.shape[:2]
    ys, ye = 0, h - dy
    xs, xe = (0, w - dx) if dx >= 0 else (-dx, w)
    return arr[ys:ye, xs:xe], arr[ys + dy:ye + dy, xs + dx:xe + dx]


def _grid_cut(img: np.ndarray, cost_fg: np.ndarray, cost_bg: np.ndarray, gamma: float) -> np.ndarray:
    """Min cut on the full 8-connected grid; returns the foreground mask."""
    h, w = cost_fg.shape
    g = maxflow.Graph[float]()
    ids = g.add_grid_nodes((h, w))
    beta = _beta(img)
    for dy, dx, inv_dist in _OFFSETS:
        a, b = _pair_views(img, dy, dx)
        wgt = np.zeros((h, w))
        pa, _ = _pair_views(wgt, dy, dx)
        pa[...] = gamma * inv_dist * np.exp(-beta * ((a - b) ** 2).sum(axis=-1))
        st = np.zeros((3, 3))
        st[1 + dy, 1 + dx] = 1
        g.add_grid_edges(ids, weights=wgt, structure=st, symmetric=True)
    # source = foreground: the source capacity is paid when a node ends up background
    g.add_grid_tedges(ids, cost_bg, cost_fg)
    g.maxflow()
    return ~g.get_grid_segments(ids)


def _band_cut(img: np.ndarray, cost_fg: np.ndarray, cost_bg: np.ndarray, init: np.ndarray,
              *, band: np.ndarray, gamma: float, beta: float) -> np.ndarray:
    """Re-solves only the ``band`` pixels; pixels outside keep ``init`` and act as boundary.

    Everything is computed on the band's pixel lists, so the cost grows with the boundary
    length, not the image area. ``cost_fg``/``cost_bg`` are per band pixel.
    """
    h, w = init.shape
    ys, xs = np.nonzero(band)
    m = len(ys)
    if m == 0:
        return init
    idx = -np.ones((h, w), np.int64)
    idx[ys, xs] = np.arange(m)
    src = cost_bg.astype(np.float64).copy()
    snk = cost_fg.astype(np.float64).copy()
    g = maxflow.Graph[float](m, 8 * m)
    g.add_nodes(m)
    zp = img[ys, xs].astype(np.float32)
    nodes = np.arange(m)
    for dy, dx, inv_dist in _OFFSETS:
        for sign in (1, -1):
            qy, qx = ys + sign * dy, xs + sign * dx
            ok = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w)
            p, qy, qx = nodes[ok], qy[ok], qx[ok]
            d = zp[ok] - img[qy, qx].astype(np.float32)
            wgt = gamma * inv_dist * np.exp(-beta * np.einsum("ij,ij->i", d, d))
            q = idx[qy, qx]
            if sign == 1:   # band–band edges once, from the forward offset
                both = q >= 0
                g.add_edges(p[both], q[both], wgt[both], wgt[both])
            # an edge to a fixed pixel becomes a unary term of the band pixel
            fixed = q < 0
            lf = init[qy[fixed], qx[fixed]]
            pf, wf = p[fixed], wgt[fixed]
            np.add.at(src, pf[lf], wf[lf])       # neighbour fg: being bg costs the edge
            np.add.at(snk, pf[~lf], wf[~lf])     # neighbour bg: being fg costs the edge
    g.add_grid_tedges(nodes, src, snk)
    g.maxflow()
    seg = g.get_grid_segments(nodes)
    out = init.copy()
    out[ys, xs] = ~seg
    return out


def _costs(x: np.ndarray, fg_gmm: GMM, bg_gmm: GMM, fg_hard: np.ndarray,
           *, bg_hard: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    shape = fg_hard.shape
    cost_fg = fg_gmm.nll(x).reshape(shape)
    cost_bg = bg_gmm.nll(x).reshape(shape)
    cost_fg[bg_hard] = HARD
    cost_bg[bg_hard] = 0
    cost_bg[fg_hard] = HARD
    cost_fg[fg_hard] = 0
    return cost_fg, cost_bg


def graph_cut(image: np.ndarray, fg_hard: np.ndarray, bg_hard: np.ndarray, init_fg: np.ndarray,
              *, settings: CutSettings, model_fg: np.ndarray | None = None,
              model_bg: np.ndarray | None = None) -> np.ndarray:
    """Binary segmentation of ``image`` (HxWx3 uint8).

    ``fg_hard``/``bg_hard``: pixels forced to a side; ``init_fg``: the initial foreground guess
    (the box interior, or the fg scribbles); ``model_fg``/``model_bg`` (optional masks): the pixels
    the initial colour models are fitted on (default: ``init_fg`` and its complement).
    """
    h, w = image.shape[:2]
    s = min(1.0, settings.work_side / max(h, w))
    if s < 1.0:
        sw, sh = max(2, round(w * s)), max(2, round(h * s))
        small = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float64)

        def down(m: np.ndarray, full: bool) -> np.ndarray:
            f = cv2.resize(m.astype(np.float32), (sw, sh), interpolation=cv2.INTER_AREA)
            return f > 0.999 if full else f > 0.0

        fg_h, bg_h = down(fg_hard, False), down(bg_hard, True) & ~down(fg_hard, False)
        init = down(init_fg, False) & ~bg_h
        mfg = None if model_fg is None else down(model_fg, False)
        mbg = None if model_bg is None else down(model_bg, False)
    else:
        small = image.astype(np.float64)
        fg_h, bg_h, init, mfg, mbg = fg_hard, bg_hard & ~fg_hard, init_fg & ~bg_hard, model_fg, model_bg
    x = small.reshape(-1, 3)
    box_mode = mbg is None   # from a box: the initial guess is its interior
    near = _surroundings(init, settings.local_bg) if box_mode else np.ones_like(init)
    fsel = (init if mfg is None else mfg).ravel()
    bsel = ((~init & near) if mbg is None else mbg).ravel()
    if box_mode and bsel.sum() < 50:   # a box (nearly) as big as the image
        bsel = ~init.ravel()
    if not fsel.any() or not bsel.any():
        return init_fg.copy() if fsel.any() else np.zeros((h, w), bool)
    fg_gmm, bg_gmm = GMM(x[fsel], settings.components), GMM(x[bsel], settings.components)
    gamma = settings.smoothness * s   # see the module docstring
    seg = init
    for it in range(max(1, settings.iterations)):
        if it > 0:   # GrabCut's step: re-assign components, re-fit on the current segmentation
            f, b = seg.ravel(), ~seg.ravel() & near.ravel()
            if f.sum() > 10 and b.sum() > 10:
                fg_gmm.fit(x[f], np.argmax(fg_gmm.component_loglik(x[f]), axis=1))
                bg_gmm.fit(x[b], np.argmax(bg_gmm.component_loglik(x[b]), axis=1))
        cf, cb = _costs(x, fg_gmm, bg_gmm, fg_h, bg_hard=bg_h)
        seg = _grid_cut(small, cf, cb, gamma)
    bias = 0.0
    free = (init & ~fg_h & ~bg_h) if box_mode else np.zeros_like(init)
    need = settings.min_fill * int(init.sum())
    if box_mode and seg.sum() < need and free.any():
        seg, bias = _fill_box(small, cf, cb, gamma, free=free, need=need)
    if s >= 1.0:
        return seg
    # full resolution: up-sample, then re-solve a band around the boundary
    up = cv2.resize(seg.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR) > 0.5
    r = int(np.ceil(1.0 / s)) + settings.band
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    u8 = up.astype(np.uint8)
    band = (cv2.dilate(u8, k) != cv2.erode(u8, k)) & ~fg_hard & ~bg_hard
    up = (up | fg_hard) & ~bg_hard
    if not band.any():
        return up
    xb = image[band].astype(np.float64)
    cost_fg = fg_gmm.nll(xb)
    if bias:   # the same push towards the box's object as on the working copy
        cost_fg -= bias * init_fg[band]
    out = _band_cut(image, cost_fg, bg_gmm.nll(xb), up, band=band, gamma=settings.smoothness,
                    beta=_beta(image))
    if box_mode and not out.any():
        return up
    return out


def _surroundings(init: np.ndarray, factor: float) -> np.ndarray:
    """The bounding box of ``init`` grown by ``factor`` of its size on every side."""
    out = np.zeros_like(init)
    ys, xs = np.nonzero(init)
    if not len(ys):
        return ~out
    ry = int(factor * (ys.max() - ys.min() + 1)) + 2
    rx = int(factor * (xs.max() - xs.min() + 1)) + 2
    out[max(0, ys.min() - ry):ys.max() + ry + 1, max(0, xs.min() - rx):xs.max() + rx + 1] = True
    return out


def _fill_box(img: np.ndarray, cost_fg: np.ndarray, cost_bg: np.ndarray, gamma: float, *, free: np.ndarray,
              need: float) -> tuple[np.ndarray, float]:
    """Lowers the foreground cost of the ``free`` box pixels until the cut keeps at least ``need``
    pixels: the pixels that look most like the object (relative to the surroundings) come first.
    Returns the cut and the bias used; the whole box when no bias does it."""
    d = (cost_fg - cost_bg)[free]
    # biases from the spread of the cost differences: each step lets a larger share through
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):
        bias = max(float(np.quantile(d, q)), 0.0) + 1e-3
        seg = _grid_cut(img, cost_fg - bias * free, cost_bg, gamma)
        if seg.sum() >= need:
            return seg, bias
    return free.copy(), 0.0
