"""Each supported torch optimizer's update Δθ_s as a sum over training examples plus a decay part.

After ``optimizer.step()`` the decomposer returns ``Update(terms, decay, predicted)`` with

    Δθ_s = Σ_i u_{i,s} + w_s,   u_{i,s} = Σ_terms scale ⊙ rows[k]  (rows k of example i),

built from the per-example gradients g_{i,s} = J(x_i; θ_s)ᵀ ∂L/∂f(x_i) (Σ_i g_{i,s} = the ``.grad``
of the user's backward); w_s collects what comes from θ itself (weight decay). Hyperparameters are
read per parameter group at every step (schedulers change ``lr``) and expanded to per-coordinate
vectors, so groups with their own lr and decay cost nothing extra. A parameter without a ``.grad``
at a step is skipped by torch (no update, no state change) and is skipped here the same way.

torch.optim.SGD (lr η, momentum μ, dampening τ, weight_decay λ, nesterov):
    d = g + λθ;  b ← d on the first step, else b ← μb + (1−τ)d;
    Δθ = −η(d + μb) (nesterov) or −ηb (momentum) or −ηd (μ = 0).
    Per example b_i follows the same recursion with d_i = g_i (an n_train × P state, only when
    μ > 0); the decay part b_w with d_w = λθ (a P-vector).
torch.optim.Adam / AdamW (lr η, betas β1 β2, eps ε, weight_decay λ, amsgrad):
    Adam: d = g + λθ; AdamW: θ ← θ(1 − ηλ) first, d = g.
    m ← β1 m + (1−β1) d;  v ← β2 v + (1−β2) d²;  Δθ = −η/(1−β1^t) · m ⊙ D_t  (− ηλθ for AdamW),
    D_t = 1/(√(v̂_t/(1−β2^t)) + ε), v̂ = v (max_exp_avg_sq with amsgrad) read from the optimizer
    after the step. D_t depends on all gradients, but given D_t the update is linear in m: per
    example m_i ← β1 m_i + (1−β1) g_i and u_i = −η/(1−β1^t) m_i ⊙ D_t, the preconditioned,
    moment-weighted path kernel of ExPLAIND (Eichin et al. 2025).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

SUPPORTED = (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW)
SUPPORTED_NAMES = "torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW"


@dataclass
class Update:
    """Δθ_s = Σ_terms (scale ⊙ rows[k], to example index[k]) + decay; ``predicted`` is the sum."""

    terms: list  # [(rows (K, P), index (K,) long, scale (P,))]
    decay: torch.Tensor
    predicted: torch.Tensor


def decomposer(optimizer, space, n_train):
    """The decomposer for ``optimizer`` (type checked, options refused with a named error)."""
    if type(optimizer) not in SUPPORTED:
        raise TypeError(
            f"optimizer must be one of {SUPPORTED_NAMES} (exact type), "
            f"got {type(optimizer).__name__}"
        )
    owner = {}
    for k, group in enumerate(optimizer.param_groups):
        if group.get("maximize", False):
            raise ValueError(
                f"optimizer: param group {k} has maximize=True, which is not supported"
            )
        for p in group["params"]:
            owner[id(p)] = k
    missing = [n for n, p in zip(space.names, space.params) if id(p) not in owner]
    if missing:
        raise ValueError(f"optimizer: trainable model parameters missing from it: {missing}")
    with_state = [n for n, p in zip(space.names, space.params) if optimizer.state.get(p)]
    if with_state:
        raise ValueError(
            "optimizer already has state (momentum or moments) for "
            f"{with_state}; create the recorder before the first optimizer step"
        )
    groups = [owner[id(p)] for p in space.params]
    cls = _SGD if type(optimizer) is torch.optim.SGD else _Adam
    return cls(optimizer, space, n_train, groups)


class _Base:
    def __init__(self, optimizer, space, n_train, groups):
        self.opt, self.space, self.n_train, self.groups = optimizer, space, n_train, groups
        self.state = None  # (n_train, P) per-example moment, allocated on first use
        self.seen = None  # (n_train,) bool: rows that have been in a batch
        self.decay_state = torch.zeros(space.size, dtype=space.params[0].dtype)
        self.decay_state = self.decay_state.to(space.params[0].device)
        self.state_sum = torch.zeros_like(self.decay_state)  # Σ_i state_i, tracked

    def hyper(self, key, fn=float):
        """Per-coordinate vector of ``fn(group[key])`` over the parameter groups."""
        return self.space.per_param([fn(self.opt.param_groups[g][key]) for g in self.groups])

    @property
    def needs_state(self) -> bool:
        """True when the update carries per-example state across steps (momentum, Adam's m)."""
        raise NotImplementedError

    @property
    def kernel_only(self) -> bool:
        """True when Δθ = Σ_i (−η ⊙ g_i) + w with η constant on each parameter (plain SGD): the
        per-example gradients enter only through the path kernel φ_s·g_i."""
        return isinstance(self, _SGD) and not self.needs_state

    def before_step(self) -> None:
        pass

    def after_step(self, theta, grads, idx, active, grads_sum) -> Update:
        """The update just taken, from θ_s, the batch's per-example gradients (B, P) with rows
        ``idx``, the coordinates that had a ``.grad`` and Σ_i g_i."""
        raise NotImplementedError

    def _state_update(self, keep, add, grads, idx, d_decay, grads_sum):
        """state ← keep ⊙ state; state[idx] += add ⊙ grads; the decay state and Σ_i state_i
        likewise (the sum is tracked: summing the n_train × P state would read all of it)."""
        if self.state is None:
            self.state = grads.new_zeros(self.n_train, grads.shape[1])
            self.seen = torch.zeros(self.n_train, dtype=torch.bool, device=grads.device)
            self.rows = torch.arange(self.n_train, device=grads.device)
        uniform = bool((add == add[0]).all())
        full = idx.shape[0] == self.n_train and bool((idx == self.rows).all())
        if full and uniform and float(add[0]) == 1.0 and bool((keep == keep[0]).all()):
            torch.add(grads, self.state, alpha=float(keep[0]), out=self.state)  # one pass
        elif full:  # a full batch in order: no scatter (index_add_ is slow on CPU)
            self.state.mul_(keep)
            self.state.add_(grads, alpha=float(add[0])) if uniform else self.state.add_(grads * add)
        else:
            self.state.mul_(keep)
            src = grads if uniform else grads * add
            self.state.index_add_(0, idx, src, alpha=float(add[0]) if uniform else 1.0)
        self.decay_state = keep * self.decay_state + add * d_decay
        self.state_sum = keep * self.state_sum + add * grads_sum
        self.seen[idx] = True

    def state_rows(self):
        """(rows, index) of the examples seen so far (the other rows of the state are zero)."""
        if bool(self.seen.all()):
            return self.state, self.rows
        index = torch.nonzero(self.seen).squeeze(1)
        return self.state[index], index


class _SGD(_Base):
    @property
    def needs_state(self) -> bool:
        return any(float(g["momentum"]) != 0 for g in self.opt.param_groups)

    def before_step(self):
        first = [
            self.opt.state.get(p, {}).get("momentum_buffer") is None for p in self.space.params
        ]
        self.first = self.space.per_param(first)

    def after_step(self, theta, grads, idx, active, grads_sum) -> Update:
        everywhere = bool(active.all())  # skip the masks and a zero decay (P-vector passes)
        act = (
            self.space.per_param([1.0] * len(self.groups)) if everywhere else active.to(theta.dtype)
        )
        lr, wd = self.hyper("lr"), self.hyper("weight_decay")
        lr = lr if everywhere else lr * act
        decays = any(float(g["weight_decay"]) != 0 for g in self.opt.param_groups)
        d_decay = wd * theta * act if decays else torch.zeros_like(theta)
        if not self.needs_state:
            step = -lr
            decay = step * d_decay if decays else d_decay
            return Update([(grads, idx, step)], decay, torch.addcmul(decay, step, grads_sum))
        mu, damp = self.hyper("momentum"), self.hyper("dampening")
        nest = self.hyper("nesterov", lambda v: float(bool(v)))
        has_mu = (mu != 0).to(theta.dtype)
        # inactive coordinates keep their buffer; first steps start it at d (no dampening)
        keep = torch.where(active, (1 - self.first) * mu, torch.ones_like(mu)) * has_mu
        add = torch.where(self.first.bool(), torch.ones_like(damp), 1 - damp) * act * has_mu
        self._state_update(keep, add, grads, idx, d_decay, grads_sum)
        a = (1 - has_mu) + has_mu * nest  # weight of d itself
        c = has_mu * (nest * mu + (1 - nest))  # weight of the buffer
        rows, index = self.state_rows()
        terms = [(grads, idx, -lr * a), (rows, index, -lr * c)]
        decay = -lr * (a * d_decay + c * self.decay_state)
        predicted = -lr * (a * grads_sum + c * self.state_sum) + decay
        return Update(terms, decay, predicted)


class _Adam(_Base):
    @property
    def needs_state(self) -> bool:
        return any(float(g["betas"][0]) != 0 for g in self.opt.param_groups)

    def after_step(self, theta, grads, idx, active, grads_sum) -> Update:
        act = active.to(theta.dtype)
        lr, wd = self.hyper("lr") * act, self.hyper("weight_decay")
        b1 = self.hyper("betas", lambda v: float(v[0]))
        b2 = self.hyper("betas", lambda v: float(v[1]))
        eps = self.hyper("eps")
        decoupled = self.hyper("decoupled_weight_decay", lambda v: float(bool(v)))
        ams = [bool(self.opt.param_groups[g]["amsgrad"]) for g in self.groups]
        steps, sq = [], []
        for p, a in zip(self.space.params, ams):
            st = self.opt.state.get(p, {})
            steps.append(float(st["step"]) if "step" in st else 1.0)
            v = st.get("max_exp_avg_sq" if a else "exp_avg_sq")
            sq.append(v.detach().reshape(-1) if v is not None else torch.zeros_like(p).reshape(-1))
        t = self.space.per_param(steps)
        v_hat = torch.cat(sq)
        bc1, bc2 = 1 - b1**t, 1 - b2**t
        precond = 1 / (v_hat.sqrt() / bc2.sqrt() + eps)
        scale = -lr / bc1 * precond  # Δθ = scale ⊙ m
        d_decay = wd * (1 - decoupled) * theta * act
        decoupled_part = -lr * wd * decoupled * theta
        if not self.needs_state:  # β1 = 0: m = d this step
            decay = scale * d_decay + decoupled_part
            return Update([(grads, idx, scale)], decay, scale * grads_sum + decay)
        keep = torch.where(active, b1, torch.ones_like(b1))
        self._state_update(keep, (1 - b1) * act, grads, idx, d_decay, grads_sum)
        rows, index = self.state_rows()
        decay = scale * self.decay_state + decoupled_part
        return Update([(rows, index, scale)], decay, scale * self.state_sum + decay)
