"""The warnings of :class:`chainrule.viz.Diagnostics`, in English and Chinese
(``Diagnostics(lang="zh")``), each with the numbers and the arithmetic behind it.

The Chinese uses the tutorial's terms (《深入理解前向传播、反向传播和计算图》): 反向传播,
链式法则, 梯度, 梯度消失, 梯度爆炸, 权重, 激活函数, 学习率, 损失函数. Both tables have the same
keys (tests/viz/test_diagnostics_report.py checks it).
"""

from __future__ import annotations

import math
from typing import Any

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "nonfinite": "NaN/inf: {what} at step {step} ({n} of {recorded} recorded steps have "
                     "NaN or inf). Lower the learning rate, clip the gradients "
                     "(clip_grad_norm_), and look for log(0) or a division by zero in the loss "
                     "(cross_entropy on logits is stable, log(softmax) is not).",
        "grads_of": "gradients of {names}",
        "the_loss": "the loss",
        "saturated": "{names}: {shares} of units are saturated (|z| > {z}, where the "
                     "derivative is < {d}): their gradients vanish. {chain} Scale the "
                     "initialisation (Xavier/Kaiming), standardise inputs, or use ReLU with "
                     "softmax + cross-entropy.",
        "chain_sigmoid": "A sigmoid's derivative s (1 - s) is at most 0.25, so the chain rule "
                         "through {n} sigmoid layer(s) multiplies a gradient by at most "
                         "0.25^{n} = {x:.2g} (ten layers: 0.25^10 = 9.5e-07), and by less "
                         "where |z| is large.",
        "chain_tanh": "A tanh's derivative 1 - t^2 is at most 1 and below {d} when saturated, "
                      "so {n} saturated tanh layer(s) multiply a gradient by less than "
                      "{d}^{n} = {x:.2g}.",
        "dead": "{name}: {share:.0%} of units output 0 for a whole batch (dead ReLUs): "
                "relu'(z) = 0 there, and the chain rule multiplies their gradient by it, so "
                "they get none and stop learning. Lower the learning rate, use Kaiming "
                "initialisation, or LeakyReLU/GELU.",
        "smaller": "a gradient {times} times smaller per weight than",
        "none_unlike": "no gradient at all, unlike",
        "vanishing": "vanishing gradients: the first layer ({first}) gets {how} the last "
                     "({last}): gradient norms {g1:.2g} vs {g2:.2g}, so the early layers barely "
                     "learn. {chain}{cause}Use ReLU-type activations with scaled (Kaiming) "
                     "initialisation, or add normalisation layers (BatchNorm).",
        "cause": "The saturated or dead units above are a cause. ",
        "updates": "{layers}: updates are {size} of the weights' size per step (||dW|| / "
                   "||W||; about 1e-3 is healthy): {what}",
        "layer": "layer {names}",
        "layers": "layers {names}",
        "stalled": "learning has stalled. Raise the learning rate, or fix what makes the "
                   "gradients small (see above).",
        "unstable": "training is unstable. Lower the learning rate, or clip the gradients "
                    "(clip_grad_norm_).",
        "time_vanishing": "{label}: vanishing gradients through time: the first of its {T} "
                          "time steps gets a gradient {times} times smaller than the last "
                          "(norms, first / last = {r:.2g}; about {per:.2f} per step, and "
                          "{per:.2f}^{T1} = {r:.2g}). Backpropagation through time multiplies "
                          "the gradient at each step by W_hh^T and the activation's derivative "
                          "(tanh' <= 1), so the early inputs barely affect learning. Use an "
                          "LSTM or GRU rather than a plain RNN, or shorter sequences "
                          "(truncated backpropagation through time).",
        "time_exploding": "{label}: exploding gradients through time: the first of its {T} "
                          "time steps gets a gradient {times} times larger than the last "
                          "(about {per:.2f} per step, and {per:.2f}^{T1} = {r:.2g}). Clip the "
                          "gradients between backward() and step(): "
                          "nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0); or lower "
                          "the learning rate.",
        "infinitely": "infinitely many",
        "and": " and ",
        "ok": "no problems found",
        "warning": "warning: ",
        "plot_loss": "Loss",
        "plot_grad": "Gradient norm per layer, ||grad||",
        "plot_update": "Update / weight ratio per layer, ||dW|| / ||W||",
        "plot_healthy": "1e-3: healthy",
        "plot_saturated": "{share} saturated: warning",
        "plot_dead": "{share} dead: warning",
        "plot_no_acts": "no sigmoid, tanh or relu in the graph",
        "plot_acts": "Saturated sigmoid/tanh units, dead ReLUs (%)",
        "plot_step": "step",
        "plot_title": "Training diagnostics",
        "plot_warnings": "{n} warning{s}",
        "plot_span": " (medians after the dashed line, steps {a}-{b})",
        "plot_suptitle": "{title}: {verdict}{span}",
        "str_empty": "Diagnostics: nothing recorded yet",
        "str_head": "Diagnostics over {steps} steps ({recorded} recorded; medians of steps "
                    "{a}-{b}):",
        "str_saturated": "saturated {v:6.1%}",
        "str_dead": "dead      {v:6.1%}",
        "str_layer": "grad norm {g:>8}   update/weight {u:>8}",
        "str_rms": "  gradient RMS, first layer / last: {r:.2g}",
        "str_time": "gradient norm, first time step / last ({n} steps): {v}",
    },
    "zh": {
        "nonfinite": "NaN/inf:第 {step} 步的{what}出现了 NaN 或 inf(记录的 {recorded} 步中有 "
                     "{n} 步如此)。请降低学习率、裁剪梯度(clip_grad_norm_),并检查损失函数里"
                     "有没有 log(0) 或除以零(对 logits 直接用 cross_entropy 是数值稳定的,"
                     "log(softmax) 则不是)。",
        "grads_of": " {names} 的梯度",
        "the_loss": "损失",
        "saturated": "{names}:饱和单元占比 {shares}(|z| > {z},此处导数 < {d}),这些单元的"
                     "梯度几乎消失。{chain}请缩放权重初始化(Xavier/Kaiming)、标准化输入,或改用 "
                     "ReLU 加 softmax + 交叉熵。",
        "chain_sigmoid": "sigmoid 的导数 s(1 - s) 最大只有 0.25,所以按链式法则经过 {n} 层 "
                         "sigmoid,梯度最多只剩 0.25^{n} = {x:.2g}(十层:0.25^10 = 9.5e-07);"
                         "单元饱和时还会更小。",
        "chain_tanh": "tanh 的导数 1 - t^2 最大为 1,饱和时小于 {d},所以经过 {n} 层饱和的 "
                      "tanh,梯度要乘上一个小于 {d}^{n} = {x:.2g} 的因子。",
        "dead": "{name}:{share:.0%} 的单元对整个批次都输出 0(死亡的 ReLU):这里 "
                "relu'(z) = 0,链式法则把它们的梯度乘以 0,于是它们得不到梯度,不再学习。"
                "请降低学习率、使用 Kaiming 初始化,或改用 LeakyReLU/GELU。",
        "smaller": "得到的每个权重的梯度比最后一层小 {times} 倍",
        "none_unlike": "完全得不到梯度,而最后一层能得到",
        "vanishing": "梯度消失:第一层({first}){how}(最后一层为 {last}):梯度范数 {g1:.2g} "
                     "对 {g2:.2g},前面的层几乎学不到东西。{chain}{cause}请使用 ReLU 一类的激活"
                     "函数并配合缩放的(Kaiming)初始化,或加入归一化层(BatchNorm)。",
        "cause": "上面提到的饱和或死亡单元正是原因之一。",
        "updates": "{layers}:每步的更新量是权重大小的 {size}(||dW|| / ||W||,约 1e-3 "
                   "为正常):{what}",
        "layer": "层 {names}",
        "layers": "层 {names}",
        "stalled": "学习已经停滞。请提高学习率,或先解决让梯度变小的问题(见上)。",
        "unstable": "训练不稳定。请降低学习率,或裁剪梯度(clip_grad_norm_)。",
        "time_vanishing": "{label}:随时间的梯度消失:{T} 个时间步中,第一步得到的梯度比最后一步"
                          "小 {times} 倍(范数之比 第一步 / 最后一步 = {r:.2g};相当于每步乘以约 "
                          "{per:.2f},{per:.2f}^{T1} = {r:.2g})。随时间反向传播在每一步都把梯度乘"
                          "以 W_hh^T 和激活函数的导数(tanh' <= 1),所以早期的输入几乎影响不到"
                          "学习。请用 LSTM 或 GRU 代替普通 RNN,或缩短序列(截断的随时间反向"
                          "传播)。",
        "time_exploding": "{label}:随时间的梯度爆炸:{T} 个时间步中,第一步得到的梯度比最后一步"
                          "大 {times} 倍(相当于每步乘以约 {per:.2f},{per:.2f}^{T1} = "
                          "{r:.2g})。请在 backward() 和 step() 之间裁剪梯度:"
                          "nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0);"
                          "或降低学习率。",
        "infinitely": "无穷多",
        "and": " 和 ",
        "ok": "没有发现问题",
        "warning": "警告:",
        "plot_loss": "损失",
        "plot_grad": "每层的梯度范数 ||grad||",
        "plot_update": "每层每步的更新量与权重之比 ||dW|| / ||W||",
        "plot_healthy": "1e-3:正常",
        "plot_saturated": "饱和 {share}:警告线",
        "plot_dead": "死亡 {share}:警告线",
        "plot_no_acts": "计算图中没有 sigmoid、tanh 或 relu",
        "plot_acts": "饱和的 sigmoid/tanh 单元、死亡的 ReLU(%)",
        "plot_step": "训练步数",
        "plot_title": "训练诊断",
        "plot_warnings": "{n} 条警告",
        "plot_span": "(取虚线之后第 {a}-{b} 步的中位数)",
        "plot_suptitle": "{title} —— {verdict}{span}",
        "str_empty": "Diagnostics:还没有记录任何一步",
        "str_head": "诊断:共 {steps} 步,记录了 {recorded} 步;以下是第 {a}-{b} 步的中位数:",
        "str_saturated": "饱和 {v:6.1%}",
        "str_dead": "死亡 {v:6.1%}",
        "str_layer": "梯度范数 {g:>8}   更新量/权重 {u:>8}",
        "str_rms": "  每个权重的梯度均方根,第一层 / 最后一层:{r:.2g}",
        "str_time": "梯度范数,第一个时间步 / 最后一个时间步(共 {n} 步):{v}",
    },
}


def msg(lang: str, key: str, **kw: Any) -> str:
    return MESSAGES[lang][key].format(**kw)


def join(lang: str, items: list[str]) -> str:
    sep = "、" if lang == "zh" else ", "  # NOTE: Latin names keep a space before 和
    return items[0] if len(items) == 1 else sep.join(items[:-1]) + msg(lang, "and") + items[-1]


def times(x: float) -> str:
    return f"{x:,.0f}" if x < 1e6 else f"{x:.1e}"


def chain(lang: str, kind: str, n: int, derivative: float) -> str:
    """The arithmetic behind a vanishing gradient through ``n`` activations of ``kind``."""
    if kind == "sigmoid":
        return msg(lang, "chain_sigmoid", n=n, x=0.25 ** n)
    return msg(lang, "chain_tanh", n=n, d=derivative, x=derivative ** n)


def warnings(d: Any, s: dict[str, Any], nonfinite: Any, derivative: float) -> list[str]:
    """The warnings of Diagnostics ``d`` (summary ``s``) in ``d.lang``."""
    lang, out = d.lang, []
    if s["nonfinite_steps"]:
        r = next(r for r in d.history if nonfinite(r))
        where = [k for k, v in r["grad_norm"].items() if not math.isfinite(v)]
        what = msg(lang, "grads_of", names=", ".join(where)) if where else msg(lang, "the_loss")
        out.append(msg(lang, "nonfinite", what=what, step=r["step"], n=s["nonfinite_steps"],
                       recorded=s["recorded"]))
    saturated = {k: v for k, v in s["saturation"].items() if v > d.saturated_max}
    for kind, z in (("sigmoid", "4"), ("tanh", "2.65")):
        acts = {k: v for k, v in saturated.items() if k.startswith(kind)}
        if acts:
            out.append(msg(lang, "saturated", names=join(lang, list(acts)),
                           shares=join(lang, [f"{v:.0%}" for v in acts.values()]), z=z,
                           d=derivative, chain=chain(lang, kind, len(acts), derivative)))
    dead = {k: v for k, v in s["dead"].items() if v > d.dead_max}
    out += [msg(lang, "dead", name=k, share=v) for k, v in dead.items()]
    ratio = s["grad_rms_ratio"]
    if ratio is not None and ratio < d.vanishing_ratio:
        layers = [k for k, ps in d.layers.items() if any(p.ndim >= 2 for p in ps)]
        first, last = layers[0], layers[-1]
        how = (msg(lang, "smaller", times=times(1 / ratio)) if ratio > 0
               else msg(lang, "none_unlike"))
        n_sig = sum(k.startswith("sigmoid") for k in s["saturation"])
        out.append(msg(lang, "vanishing", first=first, last=last, how=how,
                       g1=s["grad_norm"][first], g2=s["grad_norm"][last],
                       chain=chain(lang, "sigmoid", n_sig, derivative) + " " if n_sig else "",
                       cause=msg(lang, "cause") if saturated or dead else ""))
    for low, bad in ((True, {k: v for k, v in s["update_ratio"].items() if v < d.update_min}),
                     (False, {k: v for k, v in s["update_ratio"].items()
                              if v > d.update_max})):
        if bad:
            lo, hi = min(bad.values()), max(bad.values())
            size = f"{lo:.1e}" if lo == hi else f"{lo:.1e} to {hi:.1e}"
            out.append(msg(lang, "updates", size=size, what=msg(lang, "stalled" if low
                                                                 else "unstable"),
                           layers=msg(lang, "layer" if len(bad) == 1 else "layers",
                                      names=join(lang, list(bad)))))
    return out
