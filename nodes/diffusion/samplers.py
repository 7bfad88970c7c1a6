"""ComfyUI's samplers, written from their published update rules (k-diffusion, DPM-Solver++, UniPC).

Every sampler walks ``sigmas`` with a denoiser D(x, σ) → estimate of the clean latent, in k-diffusion
("VE") space: x = x0 + σ·ε. Given the same sigmas, seed and denoiser they reproduce ComfyUI 0.8.0's
results (checked against its code: bit-identical for most, ≤ 3e-6 relative for the rest).

Why not diffusers' schedulers: fed ComfyUI's sigmas, only some of them agree (euler, heun, dpm_2,
dpmpp_2m …), most only by overriding private attributes, and lms, dpmpp_sde, dpmpp_3m_sde,
dpmpp_2s_ancestral, deis and ipndm do not agree at all (measured; see the issue notes).

Noise: ancestral steps draw from a private generator seeded seed+1 on the CPU (seed on CUDA), as
ComfyUI; SDE samplers use a torchsde Brownian tree on the CPU seeded with the seed, so their results are
identical on every device.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

Denoise = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
StepCallback = Callable[[int, torch.Tensor, torch.Tensor], None]  # (step index, x, denoised)


def _noop(i: int, x: torch.Tensor, denoised: torch.Tensor) -> None:
    return None

# ---------------- noise sources ----------------
class StepNoise:
    """ComfyUI default_noise_sampler: one torch.randn(x.shape) per call from a private generator.
    CPU: generator seeded with seed+1; CUDA: torch.Generator('cuda') seeded with seed (no +1)."""
    def __init__(self, x, seed):
        self.shape, self.dtype, self.dev = x.shape, x.dtype, x.device
        self.g = torch.Generator(device=x.device)
        self.g.manual_seed(seed + 1 if x.device.type == "cpu" else seed)
    def __call__(self, s=None, s_next=None):
        return torch.randn(self.shape, dtype=self.dtype, device=self.dev, generator=self.g)

class BrownianNoise:
    """ComfyUI BrownianTreeNoiseSampler(cpu=True) built on torchsde.BrownianTree."""
    def __init__(self, x, sigmas, seed):
        import torchsde
        smin, smax = sigmas[sigmas > 0].min(), sigmas.max()
        self.dev, self.dtype = x.device, x.dtype
        self.tree = torchsde.BrownianTree(smin.detach().cpu(), torch.zeros_like(x).cpu(), smax.detach().cpu(), entropy=seed)
    def __call__(self, s, s_next):
        s, s_next = torch.as_tensor(s), torch.as_tensor(s_next)
        a, b = (s, s_next) if s < s_next else (s_next, s)
        sign = 1 if s < s_next else -1   # tree built with t0<t1 so self.sign == 1
        w = self.tree(a.detach().cpu().float(), b.detach().cpu().float()).to(self.dev, self.dtype) * sign
        return w / (s_next - s).abs().sqrt()

def ancestral(s, s_next, eta=1.0):
    if not eta:
        return s_next, 0.0
    up = min(s_next, eta * (s_next ** 2 * (s ** 2 - s_next ** 2) / s ** 2) ** 0.5)
    return (s_next ** 2 - up ** 2) ** 0.5, up

# ---------------- samplers ----------------
def euler(D: Denoise, x: torch.Tensor, sig: torch.Tensor, seed: int, cb: StepCallback = _noop) -> torch.Tensor:
    for i in range(len(sig) - 1):
        den = D(x, sig[i])
        d = (x - den) / sig[i]
        x = x + d * (sig[i + 1] - sig[i])
        cb(i, x, den)
    return x

def euler_ancestral(D: Denoise, x: torch.Tensor, sig: torch.Tensor, seed: int, eta=1.0, cb: StepCallback = _noop) -> torch.Tensor:
    ns = StepNoise(x, seed)
    for i in range(len(sig) - 1):
        den = D(x, sig[i])
        down, up = ancestral(sig[i], sig[i + 1], eta)
        if down == 0:
            x = den
        else:
            x = x + (x - den) / sig[i] * (down - sig[i]) + ns() * up
        cb(i, x, den)
    return x

def heun(D: Denoise, x: torch.Tensor, sig: torch.Tensor, seed: int, cb: StepCallback = _noop) -> torch.Tensor:
    for i in range(len(sig) - 1):
        den = D(x, sig[i])
        d = (x - den) / sig[i]
        dt = sig[i + 1] - sig[i]
        if sig[i + 1] == 0:
            x = x + d * dt
        else:
            x2 = x + d * dt
            d2 = (x2 - D(x2, sig[i + 1])) / sig[i + 1]
            x = x + (d + d2) / 2 * dt
        cb(i, x, den)
    return x

def dpm_2(D: Denoise, x: torch.Tensor, sig: torch.Tensor, seed: int, cb: StepCallback = _noop) -> torch.Tensor:
    for i in range(len(sig) - 1):
        den = D(x, sig[i])
        d = (x - den) / sig[i]
        if sig[i + 1] == 0:
            x = x + d * (sig[i + 1] - sig[i])
        else:
            mid = sig[i].log().lerp(sig[i + 1].log(), 0.5).exp()
            x2 = x + d * (mid - sig[i])
            d2 = (x2 - D(x2, mid)) / mid
            x = x + d2 * (sig[i + 1] - sig[i])
        cb(i, x, den)
    return x

def dpm_2_ancestral(D: Denoise, x: torch.Tensor, sig: torch.Tensor, seed: int, eta=1.0, cb: StepCallback = _noop) -> torch.Tensor:
    ns = StepNoise(x, seed)
    for i in range(len(sig) - 1):
        den = D(x, sig[i])
        down, up = ancestral(sig[i], sig[i + 1], eta)
        d = (x - den) / sig[i]
        if down == 0:
            x = x + d * (down - sig[i])
        else:
            mid = sig[i].log().lerp(down.log(), 0.5).exp()
            x2 = x + d * (mid - sig[i])
            d2 = (x2 - D(x2, mid)) / mid
            x = x + d2 * (down - sig[i])
            x = x + ns() * up
        cb(i, x, den)
    return x

def _lms_coeff(order, t, i, j):
    # exact integral of the Lagrange basis polynomial l_j over [t[i], t[i+1]] (quad is exact for these degrees)
    nodes = [float(t[i - k]) for k in range(order)]
    poly = np.poly1d([1.0])
    for k in range(order):
        if k != j:
            poly = poly * np.poly1d([1.0, -nodes[k]]) / (nodes[j] - nodes[k])
    P = poly.integ()
    return P(float(t[i + 1])) - P(float(t[i]))

def lms(D: Denoise, x: torch.Tensor, sig: torch.Tensor, seed: int, order=4, cb: StepCallback = _noop) -> torch.Tensor:
    t = sig.detach().cpu().numpy()
    ds = []
    for i in range(len(sig) - 1):
        den = D(x, sig[i])
        ds.append((x - den) / sig[i])
        if len(ds) > order:
            ds.pop(0)
        if sig[i + 1] == 0:
            x = den
        else:
            cur = min(i + 1, order)
            cs = [_lms_coeff(cur, t, i, j) for j in range(cur)]
            x = x + sum(c * d for c, d in zip(cs, reversed(ds), strict=False))
        cb(i, x, den)
    return x

def dpmpp_2s_ancestral(D: Denoise, x: torch.Tensor, sig: torch.Tensor, seed: int, eta=1.0, cb: StepCallback = _noop) -> torch.Tensor:
    ns = StepNoise(x, seed)
    for i in range(len(sig) - 1):
        den = D(x, sig[i])
        down, up = ancestral(sig[i], sig[i + 1], eta)
        if down == 0:
            x = x + (x - den) / sig[i] * (down - sig[i])
        else:
            t, tn = -sig[i].log(), -down.log()
            h = tn - t
            s = t + 0.5 * h
            x2 = (s.neg().exp() / t.neg().exp()) * x - (-h * 0.5).expm1() * den
            den2 = D(x2, s.neg().exp())
            x = (tn.neg().exp() / t.neg().exp()) * x - (-h).expm1() * den2
        if sig[i + 1] > 0:
            x = x + ns() * up
        cb(i, x, den)
    return x

def dpmpp_sde(D: Denoise, x: torch.Tensor, sig: torch.Tensor, seed: int, eta=1.0, s_noise=1.0, r=0.5, cb: StepCallback = _noop) -> torch.Tensor:
    if len(sig) <= 1:
        return x
    bn = BrownianNoise(x, sig, seed)
    for i in range(len(sig) - 1):
        den = D(x, sig[i])
        if sig[i + 1] == 0:
            x = den
            cb(i, x, den)
            continue
        ls, lt = -sig[i].log(), -sig[i + 1].log()          # half-logSNR for EPS/V models
        h = lt - ls
        ls1 = ls + r * h
        s1 = (-ls1).exp()
        a_s, a_s1, a_t = sig[i] * ls.exp(), s1 * ls1.exp(), sig[i + 1] * lt.exp()   # == 1 up to rounding
        sd, su = ancestral((-ls).exp(), (-ls1).exp(), eta)
        h_ = -sd.log() - ls
        x2 = (a_s1 / a_s) * (-h_).exp() * x - a_s1 * (-h_).expm1() * den
        x2 = x2 + a_s1 * bn(sig[i], s1) * s_noise * su
        den2 = D(x2, s1)
        sd, su = ancestral((-ls).exp(), (-lt).exp(), eta)
        h_ = -sd.log() - ls
        fac = 1 / (2 * r)
        dd = (1 - fac) * den + fac * den2
        x = (a_t / a_s) * (-h_).exp() * x - a_t * (-h_).expm1() * dd
        x = x + a_t * bn(sig[i], sig[i + 1]) * s_noise * su
        cb(i, x, den)
    return x

def dpmpp_2m(D: Denoise, x: torch.Tensor, sig: torch.Tensor, seed: int, cb: StepCallback = _noop) -> torch.Tensor:
    old = None
    for i in range(len(sig) - 1):
        den = D(x, sig[i])
        t, tn = -sig[i].log(), -sig[i + 1].log()
        h = tn - t
        if old is None or sig[i + 1] == 0:
            x = (sig[i + 1] / sig[i]) * x - (-h).expm1() * den
        else:
            r = (t + sig[i - 1].log()) / h
            dd = (1 + 1 / (2 * r)) * den - (1 / (2 * r)) * old
            x = (sig[i + 1] / sig[i]) * x - (-h).expm1() * dd
        old = den
        cb(i, x, den)
    return x

def dpmpp_2m_sde(D: Denoise, x: torch.Tensor, sig: torch.Tensor, seed: int, eta=1.0, s_noise=1.0, solver_type="midpoint", cb: StepCallback = _noop) -> torch.Tensor:
    if len(sig) <= 1:
        return x
    bn = BrownianNoise(x, sig, seed)
    old, h, h_last = None, None, None
    for i in range(len(sig) - 1):
        den = D(x, sig[i])
        if sig[i + 1] == 0:
            x = den
        else:
            ls, lt = -sig[i].log(), -sig[i + 1].log()
            h = lt - ls
            he = h * (eta + 1)
            a_t = sig[i + 1] * lt.exp()
            x = sig[i + 1] / sig[i] * (-h * eta).exp() * x + a_t * (-he).expm1().neg() * den
            if old is not None:
                r = h_last / h
                if solver_type == "heun":
                    x = x + a_t * ((-he).expm1().neg() / (-he) + 1) * (1 / r) * (den - old)
                else:
                    x = x + 0.5 * a_t * (-he).expm1().neg() * (1 / r) * (den - old)
            if eta > 0 and s_noise > 0:
                x = x + bn(sig[i], sig[i + 1]) * sig[i + 1] * (-2 * h * eta).expm1().neg().sqrt() * s_noise
        old, h_last = den, h
        cb(i, x, den)
    return x

def dpmpp_3m_sde(D: Denoise, x: torch.Tensor, sig: torch.Tensor, seed: int, eta=1.0, s_noise=1.0, cb: StepCallback = _noop) -> torch.Tensor:
    if len(sig) <= 1:
        return x
    bn = BrownianNoise(x, sig, seed)
    d1_, d2_ = None, None
    h, h1, h2 = None, None, None
    for i in range(len(sig) - 1):
        den = D(x, sig[i])
        if sig[i + 1] == 0:
            x = den
        else:
            ls, lt = -sig[i].log(), -sig[i + 1].log()
            h = lt - ls
            he = h * (eta + 1)
            a_t = sig[i + 1] * lt.exp()
            x = sig[i + 1] / sig[i] * (-h * eta).exp() * x + a_t * (-he).expm1().neg() * den
            if h2 is not None:
                r0, r1 = h1 / h, h2 / h
                d10 = (den - d1_) / r0
                d11 = (d1_ - d2_) / r1
                dA = d10 + (d10 - d11) * r0 / (r0 + r1)
                dB = (d10 - d11) / (r0 + r1)
                phi2 = he.neg().expm1() / he + 1
                phi3 = phi2 / he - 0.5
                x = x + (a_t * phi2) * dA - (a_t * phi3) * dB
            elif h1 is not None:
                r = h1 / h
                phi2 = he.neg().expm1() / he + 1
                x = x + (a_t * phi2) * ((den - d1_) / r)
            if eta > 0 and s_noise > 0:
                x = x + bn(sig[i], sig[i + 1]) * sig[i + 1] * (-2 * h * eta).expm1().neg().sqrt() * s_noise
        d1_, d2_ = den, d1_
        h1, h2 = h, h1
        cb(i, x, den)
    return x

def ddpm(D: Denoise, x: torch.Tensor, sig: torch.Tensor, seed: int, cb: StepCallback = _noop) -> torch.Tensor:
    ns = StepNoise(x, seed)
    for i in range(len(sig) - 1):
        s, sp = sig[i], sig[i + 1]
        den = D(x, s)
        eps = (x - den) / s
        xv = x / torch.sqrt(1.0 + s ** 2.0)
        ac, acp = 1 / (s * s + 1), 1 / (sp * sp + 1)
        a = ac / acp
        mu = (1.0 / a).sqrt() * (xv - (1 - a) * eps / (1 - ac).sqrt())
        if sp > 0:
            mu = mu + ((1 - a) * (1. - acp) / (1. - ac)).sqrt() * ns()
            x = mu * torch.sqrt(1.0 + sp ** 2.0)
        else:
            x = mu
        cb(i, x, den)
    return x

def lcm(D: Denoise, x: torch.Tensor, sig: torch.Tensor, seed: int, cb: StepCallback = _noop) -> torch.Tensor:
    ns = StepNoise(x, seed)
    for i in range(len(sig) - 1):
        den = D(x, sig[i])
        x = den
        if sig[i + 1] > 0:
            x = x + ns() * sig[i + 1]       # EPS noise_scaling(max_denoise=False): noise*sigma + latent
        cb(i, x, den)
    return x

def ipndm(D: Denoise, x: torch.Tensor, sig: torch.Tensor, seed: int, max_order=4, cb: StepCallback = _noop) -> torch.Tensor:
    buf = []
    for i in range(len(sig) - 1):
        s, sn = sig[i], sig[i + 1]
        den = D(x, s)
        d = (x - den) / s
        order = min(max_order, i + 1)
        if sn == 0:
            xn = den
        elif order == 1:
            xn = x + (sn - s) * d
        elif order == 2:
            xn = x + (sn - s) * (3 * d - buf[-1]) / 2
        elif order == 3:
            xn = x + (sn - s) * (23 * d - 16 * buf[-1] + 5 * buf[-2]) / 12
        else:
            xn = x + (sn - s) * (55 * d - 59 * buf[-1] + 37 * buf[-2] - 9 * buf[-3]) / 24
        buf = (buf + [d])[-(max_order - 1):]
        x = xn
        cb(i, x, den)
    return x

def _deis_coeffs(sig, max_order=3, N=10000, eps_s=1e-3, smin=0.002, smax=80.0):
    def f32(v: float) -> torch.Tensor:
        return torch.tensor(v, dtype=torch.float32)

    beta_d = 2 * (torch.log(f32(smin) ** 2 + 1) / eps_s - torch.log(f32(smax) ** 2 + 1)) / (eps_s - 1)
    beta_min = torch.log(f32(smax) ** 2 + 1) - 0.5 * beta_d
    t = ((beta_min ** 2 + 2 * beta_d * (sig.cpu() ** 2 + 1).log()).sqrt() - beta_min) / beta_d
    b0, b1 = beta_min, beta_d + beta_min
    C = []
    for i in range(len(t) - 1):
        order = min(i + 1, max_order)
        if order == 1:
            C.append([])
            continue
        taus = torch.linspace(t[i], t[i + 1], N)
        dtau = (t[i + 1] - t[i]) / N
        alpha = torch.exp(-0.5 * taus ** 2 * (b1 - b0) - taus * b0)
        integrand = -0.5 * (-(taus * (b1 - b0) + b0)) / torch.sqrt(alpha * (1 - alpha))
        prev = t[[i - k for k in range(order)]]
        row = []
        for j in range(order):
            poly = 1
            for k in range(order):
                if k != j:
                    poly = poly * (taus - prev[k]) / (prev[j] - prev[k])
            row.append(torch.sum(integrand * poly) * dtau)
        C.append(row)
    return C

def deis(D: Denoise, x: torch.Tensor, sig: torch.Tensor, seed: int, max_order=3, cb: StepCallback = _noop) -> torch.Tensor:
    C = _deis_coeffs(sig, max_order)
    buf = []
    for i in range(len(sig) - 1):
        s, sn = sig[i], sig[i + 1]
        den = D(x, s)
        d = (x - den) / s
        order = min(max_order, i + 1)
        if sn <= 0:
            order = 1
        if order == 1:
            xn = x + (sn - s) * d
        else:
            c = C[i]
            xn = x + c[0] * d + sum(c[k] * buf[-k] for k in range(1, order))
        buf = (buf + [d])[-(max_order - 1):]
        x = xn
        cb(i, x, den)
    return x

def res_multistep(D: Denoise, x: torch.Tensor, sig: torch.Tensor, seed: int, eta=0.0, s_noise=1.0, cb: StepCallback = _noop) -> torch.Tensor:
    ns = StepNoise(x, seed)
    old_den, old_down = None, None
    for i in range(len(sig) - 1):
        den = D(x, sig[i])
        down, up = ancestral(sig[i], sig[i + 1], eta)
        if down == 0 or old_den is None:
            x = x + (x - den) / sig[i] * (down - sig[i])
        else:
            t, t_old, tn, tp = -sig[i].log(), -old_down.log(), -down.log(), -sig[i - 1].log()
            h = tn - t
            c2 = (tp - t_old) / h
            phi1 = torch.expm1(-h) / (-h)
            phi2 = (phi1 - 1.0) / (-h)
            b1 = torch.nan_to_num(phi1 - phi2 / c2, nan=0.0)
            b2 = torch.nan_to_num(phi2 / c2, nan=0.0)
            x = (-h).exp() * x + h * (b1 * den + b2 * old_den)
        if sig[i + 1] > 0 and up:
            x = x + ns() * s_noise * up
        old_den, old_down = den, down
        cb(i, x, den)
    return x

# ---- UniPC (ComfyUI variant: data prediction, B(h)=h (bh1) or expm1(h) (bh2), multistep, lower_order_final)
def uni_pc(D: Denoise, x: torch.Tensor, sig: torch.Tensor, seed: int, variant="bh1", cb: StepCallback = _noop) -> torch.Tensor:
    ts = sig.clone()
    if ts[-1] == 0:
        ts[-1] = 0.001
    def lmc(s: torch.Tensor) -> torch.Tensor:  # log alpha of the VP schedule
        return 0.5 * torch.log(1 / (s * s + 1))

    def alpha(s: torch.Tensor) -> torch.Tensor:
        return torch.exp(lmc(s))

    def std(s: torch.Tensor) -> torch.Tensor:
        return torch.sqrt(1. - torch.exp(2. * lmc(s)))

    def lam(s: torch.Tensor) -> torch.Tensor:
        return lmc(s) - 0.5 * torch.log(1. - torch.exp(2. * lmc(s)))

    def x0(xv, s):                                                  # data prediction via eps round trip
        xe = xv * ((s ** 2 + 1.0) ** 0.5)
        eps = (xe - D(xe, s)) / s
        return (xv - std(s) * eps) / alpha(s)
    def update(xv, ms_, ts_, t, order, corrector):
        s0 = ts_[-1]
        m0 = ms_[-1]
        h = lam(t) - lam(s0)
        rks, D1s = [], []
        for k in range(1, order):
            rk = (lam(ts_[-(k + 1)]) - lam(s0)) / h
            rks.append(rk)
            D1s.append((ms_[-(k + 1)] - m0) / rk)
        rks.append(torch.tensor(1.0))
        rks = torch.stack([torch.as_tensor(r, dtype=torch.float32) for r in rks])
        hh = -h
        hphi1 = torch.expm1(hh)
        hphik = hphi1 / hh - 1
        fac = 1
        B = hh if variant == "bh1" else torch.expm1(hh)
        R, b = [], []
        for k in range(1, order + 1):
            R.append(rks ** (k - 1))
            b.append(hphik * fac / B)
            fac *= (k + 1)
            hphik = hphik / hh - 1 / fac
        R = torch.stack(R)
        b = torch.stack(b)
        xt_ = (std(t) / std(s0)) * xv - (alpha(t) * hphi1) * m0
        if D1s:
            rp = torch.tensor([0.5]) if order == 2 else torch.linalg.solve(R[:-1, :-1], b[:-1])
            pred = sum(rp[k] * D1s[k] for k in range(len(D1s)))
        else:
            pred = 0
        xt = xt_ - alpha(t) * B * pred
        mt = None
        if corrector:
            rc = torch.tensor([0.5]) if order == 1 else torch.linalg.solve(R, b)
            mt = x0(xt, t)
            corr = sum(rc[k] * D1s[k] for k in range(len(D1s))) if D1s else 0
            xt = xt_ - alpha(t) * B * (corr + rc[-1] * (mt - m0))
        return xt, mt
    N = len(ts) - 1
    order = min(3, len(ts) - 2)
    xv = x / torch.sqrt(1.0 + ts[0] ** 2.0)
    ms_, ts_ = [x0(xv, ts[0])], [ts[0]]
    if order == 0:            # N == 1: ComfyUI evaluates the model once and never updates x (quirk)
        return xv / alpha(ts[-1])
    for k in range(1, N + 1):
        o = min(order, N + 1 - k) if k >= order else k
        xv, mt = update(xv, ms_, ts_, ts[k], o, corrector=(k < N))
        if k < N:
            ms_.append(mt if mt is not None else x0(xv, ts[k]))
            ts_.append(ts[k])
            ms_, ts_ = ms_[-order:], ts_[-order:]
        cb(k - 1, xv / alpha(ts[k]), ms_[-1])
    return xv / alpha(ts[-1])

def uni_pc_bh2(D: Denoise, x: torch.Tensor, sig: torch.Tensor, seed: int, cb: StepCallback = _noop) -> torch.Tensor:
    return uni_pc(D, x, sig, seed, "bh2", cb=cb)


# ComfyUI's sampler names, in its order, for the ones implemented faithfully here.
SAMPLERS: dict[str, Callable[..., torch.Tensor]] = {
    "euler": euler, "euler_ancestral": euler_ancestral, "heun": heun, "dpm_2": dpm_2,
    "dpm_2_ancestral": dpm_2_ancestral, "lms": lms, "dpmpp_2s_ancestral": dpmpp_2s_ancestral,
    "dpmpp_sde": dpmpp_sde, "dpmpp_2m": dpmpp_2m, "dpmpp_2m_sde": dpmpp_2m_sde, "dpmpp_3m_sde": dpmpp_3m_sde,
    "ddpm": ddpm, "lcm": lcm, "ipndm": ipndm, "deis": deis, "res_multistep": res_multistep,
    "ddim": euler, "uni_pc": uni_pc, "uni_pc_bh2": uni_pc_bh2,
}
SAMPLER_NAMES = tuple(SAMPLERS)
