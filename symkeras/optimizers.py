"""Keras 2 optimizers (``from symkeras import optimizers``), written over the symbolic backend.

Formulas and defaults are those of tf-keras 2.x (``tf_keras.optimizers.*``, the non-legacy
ones). ``get_updates(loss, params)`` returns ``(variable, new_value)`` pairs of IR nodes for
``K.function(..., updates=...)``; nothing is computed here. Every per-parameter update is
elementwise over the parameter, its gradient and its slots, with shape-``()`` scalars (learning
rate, bias corrections) computed in the generated code from the ``iterations`` variable, so the
compiler fuses one parameter's whole update into one loop.

Keras 2 compatibility on top of tf-keras (documented deviations):

- ``lr=`` is accepted silently as an alias of ``learning_rate`` and wins when both are given
  (as in the legacy tf-keras optimizers; Keras 2 code passes ``lr``).
- ``decay=`` (time-based decay of the legacy optimizers) is accepted by every optimizer:
  ``lr_t = learning_rate / (1 + decay * iterations)``, ``iterations`` counting the updates done
  before this one. As in Keras 2 it is active only if ``decay > 0`` at construction.
- ``learning_rate``, ``decay`` and the optimizer's ``momentum``/``rho``/``beta_1``/``beta_2`` are
  ``K.variable``s of floatx (tf-keras keeps only the learning rate in a variable), so
  ``K.set_value(opt.learning_rate, x)`` or ``opt.learning_rate = x`` changes the next step.
  Structural choices (RMSprop momentum slots) are fixed when the slots are built.
- Gradient clipping follows tf-keras: ``clipnorm`` clips each gradient by its own norm,
  ``global_clipnorm`` by the global norm, ``clipvalue`` elementwise; like tf-keras only the first
  of ``clipnorm``, ``global_clipnorm``, ``clipvalue`` that is set (> 0) is applied, so combining
  ``clipvalue`` with a norm clip warns (Keras 2.2.4 applied both).
- Nadam's running product of momentum factors (tf-keras ``_u_product``) is a variable kept out of
  ``weights`` as in tf-keras; ``set_weights`` recomputes it from ``iterations`` and ``beta_1``.
- Not supported: learning-rate schedule objects (use the LearningRateScheduler callback),
  ``weight_decay``, EMA. tf-keras config keys for them are accepted when inert.
"""

import numbers
import warnings

import numpy as np
import sympy

from symkeras import backend as K

__all__ = ["Optimizer", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "Adamax", "Nadam",
           "get", "serialize", "deserialize"]

# tf-keras constructor/config keys with no effect here (accepted so tf-keras configs load).
_INERT_KEYS = ("jit_compile", "ema_momentum", "ema_overwrite_frequency", "is_legacy_optimizer", "mesh")


def _number(owner, name, value, low=None, high=None):
    """``value`` as a float, or a ValueError naming the argument and the allowed range."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        kind = "a learning-rate schedule or callable" if callable(value) else repr(value)
        raise TypeError(f"{owner}: `{name}` must be a number, got {kind}"
                        + (" (schedules are not supported; use the LearningRateScheduler callback)"
                           if name == "learning_rate" and callable(value) else ""))
    value = float(value)
    if (low is not None and not value >= low) or (high is not None and not value <= high):
        bounds = f"between [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{owner}: `{name}` must be {bounds}. Received: {name}={value}")
    return value


def _sqrt(x):
    return K.pow(x, sympy.Rational(1, 2))


class _Hyper:
    """A hyper-parameter held in a floatx ``K.variable``: reading gives the variable (a graph
    node, as Keras 2's ``optimizer.lr``); assigning a number writes it in place."""

    def __init__(self, key=None, low=None, high=None):
        self.key, self.low, self.high = key, low, high

    def __set_name__(self, owner, name):
        self.key = self.key or name

    def __get__(self, obj, owner=None):
        return self if obj is None else obj._hypers[self.key]

    def __set__(self, obj, value):
        value = _number(type(obj).__name__, self.key, value, self.low, self.high)
        K.set_value(obj._hypers[self.key], np.asarray(value, dtype=obj._hypers[self.key].dtype))
        obj._hyper_given[self.key] = value


class Optimizer:
    """Base class: hyper-parameter variables, slots, clipping, updates, weights, config.

    A subclass sets ``_slot_groups`` (or overrides ``_build_groups``) and implements
    ``_update_step(grad, param, slots)`` → ``(new_param, [(slot, new_slot_value), ...])``.
    """

    learning_rate = _Hyper(low=0.0)
    lr = _Hyper("learning_rate", low=0.0)
    decay = _Hyper(low=0.0)
    _slot_groups = ()        # tf-keras creation order: groups of slot names, interleaved per param

    def __init__(self, name, clipnorm=None, clipvalue=None, global_clipnorm=None, **kwargs):
        owner = type(self).__name__
        learning_rate = kwargs.pop("learning_rate", 0.001)
        lr = kwargs.pop("lr", None)
        learning_rate = learning_rate if lr is None else lr
        decay = kwargs.pop("decay", 0.0)
        for key in _INERT_KEYS:
            kwargs.pop(key, None)
        if kwargs.pop("weight_decay", None):
            raise ValueError(f"{owner}: `weight_decay` is not supported by symkeras")
        if kwargs.pop("use_ema", False):
            raise ValueError(f"{owner}: `use_ema` is not supported by symkeras")
        if kwargs:
            raise TypeError(f"{owner}: unexpected keyword argument(s) {', '.join(sorted(kwargs))}; "
                            "allowed besides the optimizer's own: name, clipnorm, clipvalue, "
                            "global_clipnorm, lr, decay")
        self.name = str(name)
        self.clipnorm = None if clipnorm is None else _number(owner, "clipnorm", clipnorm, 0.0)
        self.clipvalue = None if clipvalue is None else _number(owner, "clipvalue", clipvalue, 0.0)
        self.global_clipnorm = (None if global_clipnorm is None
                                else _number(owner, "global_clipnorm", global_clipnorm, 0.0))
        if self.clipnorm is not None and self.global_clipnorm is not None:
            raise ValueError(f"{owner}: at most one of `clipnorm` and `global_clipnorm` can be set. "
                             f"Received: clipnorm={self.clipnorm}, global_clipnorm={self.global_clipnorm}.")
        if self.clipvalue and (self.clipnorm or self.global_clipnorm):
            warnings.warn(f"{owner}: as in tf-keras, only the norm clip is applied when `clipvalue` is "
                          "combined with `clipnorm` or `global_clipnorm`; `clipvalue` is ignored",
                          UserWarning, stacklevel=3)
        self._hypers, self._hyper_given = {}, {}
        self._iterations = K.variable(0, dtype="int64", name=f"{self.name}/iterations")
        self._add_hyper("learning_rate", learning_rate, 0.0)
        self._add_hyper("decay", decay, 0.0)
        self._initial_decay = self._hyper_given["decay"]
        self._slots = {}        # id(param) -> {slot name: variable}
        self._slot_owners = []  # every param with slots (keeps the ids above valid)
        self._params = []       # params of the last build, in order
        self._groups = None     # slot groups, fixed at the first build
        self.updates = []

    # ------------------------------------------------------------------ hyper-parameters

    def _add_hyper(self, key, value, low=None, high=None):
        value = _number(type(self).__name__, key, value, low, high)
        self._hypers[key] = K.variable(value, dtype=K.floatx(), name=f"{self.name}/{key}")
        self._hyper_given[key] = value

    def _hyper(self, key, dtype):
        """The hyper-parameter variable as a node of ``dtype`` (cast in the generated code)."""
        var = self._hypers[key]
        return var if var.dtype == dtype else K.cast(var, dtype)

    def _hyper_value(self, key):
        """The current value as a Python float; the value given if the variable still holds it."""
        current = K.get_value(self._hypers[key]).item()
        given = self._hyper_given[key]
        same = np.asarray(given, dtype=self._hypers[key].dtype).item() == current
        return given if same else float(current)

    @property
    def iterations(self):
        """int64 variable of shape (): the number of updates done."""
        return self._iterations

    def _decayed_lr(self, dtype):
        lr = self._hyper("learning_rate", dtype)
        if self._initial_decay > 0:
            lr = lr / (1 + self._hyper("decay", dtype) * K.cast(self._iterations, dtype))
        return lr

    def _local_step(self, dtype):
        """t = iterations + 1 as a float node (1 on the first update)."""
        return K.cast(self._iterations + 1, dtype)

    # ------------------------------------------------------------------ slots

    def _slot_initial_value(self, slot):
        return 0.0

    def _build_groups(self):
        return [tuple(g) for g in self._slot_groups]

    def build(self, params):
        """Create the slot variables of ``params`` (those not built yet) and fix the weight order."""
        params = list(params)
        if self._groups is None:
            self._groups = self._build_groups()
        for i, p in enumerate(params):
            if id(p) in self._slots:
                continue
            base = p.name or f"param_{i}"
            value = K.get_value(p)
            self._slots[id(p)] = {
                slot: K.variable(np.full(value.shape, self._slot_initial_value(slot)), dtype=p.dtype,
                                 name=f"{base}/{slot}")
                for group in self._groups for slot in group}
            self._slot_owners.append(p)
        self._params = params

    @property
    def built(self):
        return self._groups is not None

    @property
    def weights(self):
        """``[iterations]`` + slots, in tf-keras order."""
        out = [self._iterations]
        for group in self._groups or ():
            for p in self._params:
                out += [self._slots[id(p)][slot] for slot in group]
        return out

    variables = weights

    def get_weights(self):
        return K.batch_get_value(self.weights)

    def set_weights(self, weights):
        if not self.built:
            raise ValueError(f"{type(self).__name__}: set_weights() called on an optimizer that has no "
                             "slots yet; call get_updates() or build(params) first")
        variables = self.weights
        weights = list(weights)
        if len(weights) != len(variables):
            raise ValueError(f"{type(self).__name__}: set_weights() expected a list of {len(variables)} "
                             f"arrays (iterations and slots), got {len(weights)}")
        arrays = []
        for var, w in zip(variables, weights):
            w = np.asarray(w)
            if tuple(w.shape) != tuple(K.int_shape(var)):
                raise ValueError(f"Optimizer variable {var.name!r} has shape {tuple(K.int_shape(var))} not "
                                 f"compatible with provided weight shape {tuple(w.shape)}.")
            arrays.append(w)
        K.batch_set_value(zip(variables, arrays))
        self._after_set_weights()

    def _after_set_weights(self):
        pass

    # ------------------------------------------------------------------ gradients and updates

    def get_gradients(self, loss, params):
        """d loss / d params, clipped as configured; ValueError if a parameter has no gradient."""
        params = list(params)
        grads = K.gradients(loss, params)
        missing = [p.name or f"params[{i}]" for i, (p, g) in enumerate(zip(params, grads)) if g is None]
        if missing:
            raise ValueError("An operation has `None` for gradient: the loss does not depend on "
                             f"{', '.join(repr(m) for m in missing)}. Please make sure that all of your ops "
                             "have a gradient defined (i.e. are differentiable). Common ops without "
                             "gradient: K.argmax, K.round, K.eval.")
        with K.name_scope(self.name):
            return self._clip_gradients(grads)

    def _clip_gradients(self, grads):
        if self.clipnorm and self.clipnorm > 0:
            return [g * self.clipnorm / K.maximum(_sqrt(K.sum(K.square(g))), self.clipnorm) for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            dtype = grads[0].dtype
            total = None
            for g in grads:
                s = K.sum(K.square(g))
                s = s if s.dtype == dtype else K.cast(s, dtype)
                total = s if total is None else total + s
            scale = self.global_clipnorm / K.maximum(_sqrt(total), self.global_clipnorm)
            return [g * (scale if g.dtype == dtype else K.cast(scale, g.dtype)) for g in grads]
        if self.clipvalue and self.clipvalue > 0:
            return [K.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return list(grads)

    def get_updates(self, loss, params, constraints=None, grads=None):
        """``(variable, new_value)`` pairs for one training step: iterations, slots, parameters.

        ``constraints``: optional dict ``{id(param) or param: fn(new_value_node) -> node}``,
        applied to the parameter's new value (Keras: after the update). ``grads``: the gradients
        of ``params`` as nodes (then ``loss`` is not read), clipped here as configured.
        """
        params = list(params)
        if grads is None:
            grads = self.get_gradients(loss, params)
        else:
            with K.name_scope(self.name):
                grads = self._clip_gradients(list(grads))
        self.build(params)
        # Each update is scoped by the optimizer and the weight it updates (Adam/dense_1/kernel).
        with K.name_scope(self.name):
            updates = [(self._iterations, self._iterations + 1)]
            updates += self._shared_updates(params)
        for p, g in zip(params, grads):
            with K.name_scope(self.name), K.name_scope(p.op.storage.name):
                new_p, slot_updates = self._update_step(g, p, self._slots[id(p)])
                for slot, value in slot_updates:
                    updates.append((slot, value if value.dtype == slot.dtype else K.cast(value, slot.dtype)))
                constraint = _lookup(constraints, p)
                if constraint is not None:
                    new_p = constraint(new_p)
                updates.append((p, new_p if new_p.dtype == p.dtype else K.cast(new_p, p.dtype)))
        self.updates = updates
        return updates

    def _shared_updates(self, params):
        """Updates of state shared by all parameters (computed once per step)."""
        return []

    def _update_step(self, grad, param, slots):
        raise NotImplementedError

    # ------------------------------------------------------------------ config

    def get_config(self):
        config = {"name": self.name}
        for key in ("clipnorm", "global_clipnorm", "clipvalue"):
            if getattr(self, key) is not None:
                config[key] = getattr(self, key)
        config["learning_rate"] = self._hyper_value("learning_rate")
        if self._initial_decay > 0:
            config["decay"] = self._hyper_value("decay")
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            raise ValueError(f"{cls.__name__}.from_config: learning-rate schedules are not supported "
                             f"(got {config['learning_rate']!r})")
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} learning_rate={self._hyper_value('learning_rate')}>"


def _lookup(constraints, param):
    if not constraints:
        return None
    fn = constraints.get(id(param))
    return fn if fn is not None else constraints.get(param)


# ---------------------------------------------------------------------------- optimizers

class SGD(Optimizer):
    """Gradient descent with momentum: ``m = momentum*m - lr*g``; ``p += m``
    (nesterov: ``p += momentum*m - lr*g``). The ``m`` slot exists even for momentum 0 (tf-keras)."""

    momentum = _Hyper(low=0.0, high=1.0)
    _slot_groups = (("m",),)

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, *, name="SGD", **kwargs):
        super().__init__(name, learning_rate=learning_rate, **kwargs)
        self._add_hyper("momentum", momentum, 0.0, 1.0)
        self.nesterov = bool(nesterov)

    def _update_step(self, g, p, slots):
        lr, momentum = self._decayed_lr(p.dtype), self._hyper("momentum", p.dtype)
        m = slots["m"]
        m_new = -g * lr + m * momentum
        p_new = p + (-g * lr + m_new * momentum if self.nesterov else m_new)
        return p_new, [(m, m_new)]

    def get_config(self):
        return {**super().get_config(), "momentum": self._hyper_value("momentum"), "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """``a = rho*a + (1-rho)*g²``; ``p -= lr*g/sqrt(a + eps)`` (centered: ``a - mg²``;
    momentum > 0: ``mom = momentum*mom + lr*g/sqrt(…)``, ``p -= mom``)."""

    rho = _Hyper(low=0.0, high=1.0)
    momentum = _Hyper(low=0.0, high=1.0)

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, *,
                 name="RMSprop", **kwargs):
        super().__init__(name, learning_rate=learning_rate, **kwargs)
        self._add_hyper("rho", rho, 0.0, 1.0)
        self._add_hyper("momentum", momentum, 0.0, 1.0)
        self.epsilon = _epsilon(self, epsilon)
        self.centered = bool(centered)

    def _build_groups(self):
        groups = [("velocity",)]
        if K.get_value(self._hypers["momentum"]) > 0:
            groups.append(("momentum",))
        if self.centered:
            groups.append(("average_gradient",))
        return groups

    def _update_step(self, g, p, slots):
        lr, rho = self._decayed_lr(p.dtype), self._hyper("rho", p.dtype)
        updates = []
        velocity = rho * slots["velocity"] + (1 - rho) * K.square(g)
        updates.append((slots["velocity"], velocity))
        if self.centered:
            average = rho * slots["average_gradient"] + (1 - rho) * g
            updates.append((slots["average_gradient"], average))
            denominator = velocity - K.square(average) + self.epsilon
        else:
            denominator = velocity + self.epsilon
        increment = lr * g / _sqrt(denominator)
        if "momentum" in slots:
            mom = self._hyper("momentum", p.dtype) * slots["momentum"] + increment
            updates.append((slots["momentum"], mom))
            return p - mom, updates
        return p - increment, updates

    def get_config(self):
        return {**super().get_config(), "rho": self._hyper_value("rho"),
                "momentum": self._hyper_value("momentum"), "epsilon": self.epsilon, "centered": self.centered}


class Adagrad(Optimizer):
    """``a += g²`` (a starts at ``initial_accumulator_value``); ``p -= lr*g/sqrt(a + eps)``."""

    _slot_groups = (("accumulator",),)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, *,
                 name="Adagrad", **kwargs):
        super().__init__(name, learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = _number("Adagrad", "initial_accumulator_value",
                                                 initial_accumulator_value, 0.0)
        self.epsilon = _epsilon(self, epsilon)

    def _slot_initial_value(self, slot):
        return self.initial_accumulator_value

    def _update_step(self, g, p, slots):
        lr = self._decayed_lr(p.dtype)
        acc = slots["accumulator"] + g * g
        return p - lr * g / _sqrt(acc + self.epsilon), [(slots["accumulator"], acc)]

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """``a = rho*a + (1-rho)*g²``; ``Δ = -sqrt(d + eps)/sqrt(a + eps)*g``;
    ``d = rho*d + (1-rho)*Δ²``; ``p += lr*Δ``."""

    rho = _Hyper(low=0.0, high=1.0)
    _slot_groups = (("accumulated_grad", "accumulated_delta_var"),)

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, *, name="Adadelta", **kwargs):
        super().__init__(name, learning_rate=learning_rate, **kwargs)
        self._add_hyper("rho", rho, 0.0, 1.0)
        self.epsilon = _epsilon(self, epsilon)

    def _update_step(self, g, p, slots):
        lr, rho = self._decayed_lr(p.dtype), self._hyper("rho", p.dtype)
        acc_g, acc_d = slots["accumulated_grad"], slots["accumulated_delta_var"]
        acc_g_new = rho * acc_g + (1 - rho) * g * g
        delta = -_sqrt(acc_d + self.epsilon) * g / _sqrt(acc_g_new + self.epsilon)
        acc_d_new = rho * acc_d + (1 - rho) * delta * delta
        return p + lr * delta, [(acc_g, acc_g_new), (acc_d, acc_d_new)]

    def get_config(self):
        return {**super().get_config(), "rho": self._hyper_value("rho"), "epsilon": self.epsilon}


class _BetaOptimizer(Optimizer):
    beta_1 = _Hyper(low=0.0, high=1.0)
    beta_2 = _Hyper(low=0.0, high=1.0)

    def __init__(self, name, learning_rate, beta_1, beta_2, epsilon, **kwargs):
        super().__init__(name, learning_rate=learning_rate, **kwargs)
        self._add_hyper("beta_1", beta_1, 0.0, 1.0)
        self._add_hyper("beta_2", beta_2, 0.0, 1.0)
        self.epsilon = _epsilon(self, epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self._hyper_value("beta_1"),
                "beta_2": self._hyper_value("beta_2"), "epsilon": self.epsilon}


class Adam(_BetaOptimizer):
    """``α = lr*sqrt(1-β2^t)/(1-β1^t)``; ``m += (g-m)(1-β1)``; ``v += (g²-v)(1-β2)``;
    ``p -= α*m/(sqrt(v) + eps)`` (amsgrad: ``v̂ = max(v̂, v)`` in place of ``v``)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, *,
                 name="Adam", **kwargs):
        super().__init__(name, learning_rate, beta_1, beta_2, epsilon, **kwargs)
        self.amsgrad = bool(amsgrad)

    def _build_groups(self):
        return [("m", "v")] + ([("vhat",)] if self.amsgrad else [])

    def _update_step(self, g, p, slots):
        dtype = p.dtype
        lr, t = self._decayed_lr(dtype), self._local_step(dtype)
        beta_1, beta_2 = self._hyper("beta_1", dtype), self._hyper("beta_2", dtype)
        alpha = lr * _sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        m = slots["m"] + (g - slots["m"]) * (1 - beta_1)
        v = slots["v"] + (K.square(g) - slots["v"]) * (1 - beta_2)
        updates = [(slots["m"], m), (slots["v"], v)]
        if self.amsgrad:
            v = K.maximum(slots["vhat"], v)
            updates.append((slots["vhat"], v))
        return p - m * alpha / (_sqrt(v) + self.epsilon), updates

    def get_config(self):
        return {**super().get_config(), "amsgrad": self.amsgrad}


class Adamax(_BetaOptimizer):
    """``m += (g-m)(1-β1)``; ``u = max(β2*u, |g|)``; ``p -= lr*m/((1-β1^t)(u + eps))``."""

    _slot_groups = (("m", "u"),)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, *, name="Adamax",
                 **kwargs):
        super().__init__(name, learning_rate, beta_1, beta_2, epsilon, **kwargs)

    def _update_step(self, g, p, slots):
        dtype = p.dtype
        lr, t = self._decayed_lr(dtype), self._local_step(dtype)
        beta_1, beta_2 = self._hyper("beta_1", dtype), self._hyper("beta_2", dtype)
        m = slots["m"] + (g - slots["m"]) * (1 - beta_1)
        u = K.maximum(beta_2 * slots["u"], K.abs(g))
        return p - lr * m / ((1 - beta_1 ** t) * (u + self.epsilon)), [(slots["m"], m), (slots["u"], u)]


class Nadam(_BetaOptimizer):
    """Adam with Nesterov momentum (tf-keras): ``μ_t = β1(1 - 0.5*0.96^t)``, ``Π_t = Π_{t-1}μ_t``;
    ``m̂ = μ_{t+1}*m/(1-Π_tμ_{t+1}) + (1-μ_t)*g/(1-Π_t)``; ``v̂ = v/(1-β2^t)``;
    ``p -= lr*m̂/(sqrt(v̂) + eps)``."""

    _slot_groups = (("m", "v"),)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, *, name="Nadam",
                 **kwargs):
        super().__init__(name, learning_rate, beta_1, beta_2, epsilon, **kwargs)
        self._u_product = None      # Π_t, created with the slots (dtype of the first parameter)

    @property
    def u_product(self):
        """Variable holding the product of the momentum factors μ_1…μ_t (not in ``weights``)."""
        return self._u_product

    def build(self, params):
        params = list(params)
        if self._u_product is None and params:
            self._u_product = K.variable(1.0, dtype=params[0].dtype, name=f"{self.name}/u_product")
        super().build(params)

    def _mu(self, step, dtype):
        return self._hyper("beta_1", dtype) * (1 - 0.5 * 0.96 ** step)

    def _shared_updates(self, params):
        if self._u_product is None:     # no parameters
            return []
        dtype = self._u_product.dtype
        self._u_t = self._mu(self._local_step(dtype), dtype)
        self._u_product_t = self._u_product * self._u_t
        return [(self._u_product, self._u_product_t)]

    def _update_step(self, g, p, slots):
        dtype = p.dtype
        lr, t = self._decayed_lr(dtype), self._local_step(dtype)
        cast = (lambda x: x) if dtype == self._u_product.dtype else (lambda x: K.cast(x, dtype))
        u_t, u_product_t = cast(self._u_t), cast(self._u_product_t)
        u_t_1 = self._mu(K.cast(self._iterations + 2, dtype), dtype)
        u_product_t_1 = u_product_t * u_t_1
        beta_1, beta_2 = self._hyper("beta_1", dtype), self._hyper("beta_2", dtype)
        m = slots["m"] + (g - slots["m"]) * (1 - beta_1)
        v = slots["v"] + (K.square(g) - slots["v"]) * (1 - beta_2)
        m_hat = u_t_1 * m / (1 - u_product_t_1) + (1 - u_t) * g / (1 - u_product_t)
        v_hat = v / (1 - beta_2 ** t)
        return p - m_hat * lr / (_sqrt(v_hat) + self.epsilon), [(slots["m"], m), (slots["v"], v)]

    def _after_set_weights(self):
        """Recompute Π_t = ∏_{i=1..iterations} β1(1 - 0.5*0.96^i) to match the restored step."""
        if self._u_product is None:
            return
        beta_1 = float(K.get_value(self._hypers["beta_1"]))
        steps = np.arange(1, int(K.get_value(self._iterations)) + 1, dtype=np.float64)
        K.set_value(self._u_product, np.asarray(np.prod(beta_1 * (1 - 0.5 * 0.96 ** steps)),
                                                dtype=self._u_product.dtype))


def _epsilon(opt, epsilon):
    """``None`` means ``K.epsilon()`` (Keras 2); must be >= 0."""
    return _number(type(opt).__name__, "epsilon", K.epsilon() if epsilon is None else epsilon, 0.0)


# ---------------------------------------------------------------------------- lookup by name

_CLASSES = {c.__name__.lower(): c for c in (SGD, RMSprop, Adagrad, Adadelta, Adam, Adamax, Nadam)}


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config, custom_objects=None):
    """An optimizer from ``{'class_name': ..., 'config': {...}}`` (class names case-insensitive)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret optimizer config: {config!r} "
                         "(expected a dict with 'class_name' and 'config')")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _CLASSES.get(str(name).lower())
    if cls is None:
        raise ValueError(f"Unknown optimizer: {name}")
    return cls.from_config(config.get("config") or {})


def get(identifier):
    """An Optimizer instance from an instance, a name ('adam', 'Adam', ...) or a config dict."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return deserialize({"class_name": identifier, "config": {}})
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
