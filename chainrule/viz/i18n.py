"""The words chainrule's teaching tools show, in English and Chinese.

One table per language, keyed by message; templates use ``{name}`` fields. The Chinese
follows the tutorial's own terms (docs/tutorial.zh.md): 前向传播, 反向传播, 计算图, 链式法则,
局部导数, 叶子节点, 梯度下降, 学习率, 偏置, 均方误差, 梯度消失.

    >>> message("phase_backward", "zh")
    '反向传播'
    >>> message("step_of", "en", i=3, n=20)
    'step 3 of 20'
"""

from __future__ import annotations

from typing import Any

__all__ = ["LANGS", "MESSAGES", "message", "check_lang"]

LANGS = ("en", "zh")

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "title": "Backpropagation, step by step",
        "graph": "computational graph",
        "phase_forward": "Forward pass",
        "phase_backward": "Backward pass",
        "phase_leaves": "Gradients of the leaves",
        "phase_descent": "One step of gradient descent",
        "inputs_intro": "The inputs and parameters the computation starts from.",
        "requires_grad": "requires grad",
        "input": "input",
        "forward_intro": "Each op computes its output from its inputs, first to last.",
        "inputs": "inputs",
        "output": "output",
        "module": "inside {group}",
        "seed_intro": "Backward starts at the output being explained: dL/d{name} = {seed}.",
        "seed_sum": "(the output has several elements: as {name}.sum().backward(), each "
                    "starts with 1)",
        "chain": "Chain rule: G = dL/d(output) arrives, is multiplied by the local "
                 "derivative, and dL/d(input) goes back along each edge.",
        "receives": "G = {gsym} arrives",
        "same_as": "(the same as {alias}: an add passes G on unchanged)",
        "local": "local derivative",
        "sent": "back to {input}",
        "numbers": "numbers",
        "result": "result",
        "summed": "summed over {axes}: {frm} -> {to} ({input} was broadcast in the forward "
                  "pass)",
        "axis": "axis {a}",
        "axes": "axes {a}",
        "used_n": "{name} is used {n} times: the gradients of its {n} paths add up",
        "path": "path {k} of {n}",
        "adds_up": "adds up with the other paths into {input}",
        "no_grad": "no gradient reaches this op",
        "constant": "{name} needs no gradient: it does not require grad",
        "leaf_intro": "What {call} puts in {name}.grad.",
        "descent_intro": "Each parameter moves against its gradient: W <- W - lr * dL/dW, "
                         "with learning rate lr = {lr}.",
        "old": "before",
        "new": "after",
        "vanishing": "This factor is at most {max}, and near 0 where the unit saturates: "
                     "multiplied over many layers, gradients shrink (vanishing gradients).",
        "first": "first",
        "back": "back",
        "next": "next",
        "play": "play",
        "pause": "pause",
        "last": "last",
        "jump": "jump to",
        "step_of": "step {i} of {n}",
        "keys": "keys: <- -> step, space play/pause, Home/End, click a node to jump to it",
        "elements": "elements",
        "lang_switch": "中文",
        "no_picture": "(no picture: drawing needs matplotlib and grandalf, pip install "
                      "\"chainrule[viz]\", or Graphviz's dot)",
        "legend": "orange: the current op; blue: computed; red: edges carrying gradients back",
        "glossary": "terms",
        "term_forward": "forward pass",
        "term_backward": "backward pass (backpropagation)",
        "term_graph": "computational graph",
        "term_chain": "chain rule",
        "term_bias": "bias",
        "term_mse": "mean squared error",
        "term_vanishing": "vanishing gradients",
        "ex_forward": "FORWARD PASS: every op computes its output from its inputs, first to last",
        "ex_inputs": "  inputs and parameters:",
        "ex_requires_grad": "requires grad",
        "ex_input": "input",
        "ex_ops": "  ops:",
        "ex_inside": "    # inside {group}",
        "ex_outside": "    # outside the model",
        "ex_explained": "    <- the output being explained",
        "ex_backward": "BACKWARD PASS: the chain rule, from the output back to the inputs",
        "ex_intro": "  Each op receives G = dL/d(its output), multiplies it by its local "
                    "derivative and passes dL/d(input) to each input. Backward starts from "
                    "dL/d{name} = {seed}",
        "ex_period": ".",
        "ex_intro_sum": " (what {name}.sum().backward() does).",
        "ex_local": "local derivative: {local}",
        "ex_no_grad": "    no gradient reaches this op",
        "ex_used": "    {name} is used {n} times: the gradients of its {n} paths add up",
        "ex_path": "path {k}",
        "ex_constant": "    ({name} needs no gradient: it does not require grad)",
        "ex_leaves": "GRADIENTS OF THE LEAVES: what {call} puts in .grad",
        "ex_no_leaf": "  (no leaf requires grad)",
        "ex_leaf_used": "  {name} is used {n} times: the gradients of its paths add up in .grad",
        "ex_path_of": " (path {k} of {n})",
        "ex_axis": "axis {a}",
        "ex_axes": "axes {a}",
        "ex_summed": "summed over {what}: {frm} -> {to}   ({input} was broadcast in the forward "
                     "pass)",
        "ex_adds_up": "  (adds up with the other path into {input})",
        "ex_adds_up_many": "  (adds up with the other paths into {input})",
    },
    "zh": {
        "title": "反向传播,一步一步看",
        "graph": "计算图",
        "phase_forward": "前向传播",
        "phase_backward": "反向传播",
        "phase_leaves": "叶子节点的梯度",
        "phase_descent": "一步梯度下降",
        "inputs_intro": "计算从这些输入和参数开始。",
        "requires_grad": "需要梯度",
        "input": "输入",
        "forward_intro": "每个运算按先后顺序,由它的输入算出输出。",
        "inputs": "输入",
        "output": "输出",
        "module": "位于 {group} 中",
        "seed_intro": "反向传播从要解释的输出开始:dL/d{name} = {seed}。",
        "seed_sum": "(输出有多个元素:和 {name}.sum().backward() 一样,每个元素从 1 开始)",
        "chain": "链式法则:收到 G = dL/d(输出),乘以局部导数,再沿每条边把 dL/d(输入) 传回去。",
        "receives": "收到 G = {gsym}",
        "same_as": "(与 {alias} 相同:加法把 G 原样传下去)",
        "local": "局部导数",
        "sent": "传回 {input}",
        "numbers": "数值",
        "result": "结果",
        "summed": "对{axes}求和:{frm} -> {to}({input} 在前向传播中被广播过)",
        "axis": "第 {a} 轴",
        "axes": "第 {a} 轴",
        "used_n": "{name} 被用了 {n} 次:{n} 条路径的梯度相加",
        "path": "第 {k} 条路径(共 {n} 条)",
        "adds_up": "与其他路径的梯度相加,得到 {input} 的梯度",
        "no_grad": "没有梯度传到这个运算",
        "constant": "{name} 不需要梯度(它没有设置 requires_grad)",
        "leaf_intro": "{call} 存入 {name}.grad 的值。",
        "descent_intro": "每个参数沿梯度的反方向移动一步:W <- W - 学习率 * dL/dW,学习率 = {lr}。",
        "old": "更新前",
        "new": "更新后",
        "vanishing": "这个因子最大为 {max},单元饱和时接近 0:经过多层连乘,"
                     "梯度会越来越小(梯度消失)。",
        "first": "开头",
        "back": "上一步",
        "next": "下一步",
        "play": "播放",
        "pause": "暂停",
        "last": "结尾",
        "jump": "跳到",
        "step_of": "第 {i} 步,共 {n} 步",
        "keys": "按键:<- -> 单步,空格 播放/暂停,Home/End 跳到首尾,点击节点跳到该节点",
        "elements": "逐个元素",
        "lang_switch": "English",
        "no_picture": "(没有图:画图需要 matplotlib 和 grandalf,pip install \"chainrule[viz]\","
                      "或 Graphviz 的 dot)",
        "legend": "橙色:当前运算;蓝色:已算出;红色:正在回传梯度的边",
        "glossary": "术语",
        "term_forward": "前向传播",
        "term_backward": "反向传播",
        "term_graph": "计算图",
        "term_chain": "链式法则",
        "term_bias": "偏置",
        "term_mse": "均方误差",
        "term_vanishing": "梯度消失",
        "ex_forward": "前向传播:每个运算由输入算出输出,按先后顺序",
        "ex_inputs": "  输入和参数:",
        "ex_requires_grad": "需要梯度",
        "ex_input": "输入",
        "ex_ops": "  运算:",
        "ex_inside": "    # 位于 {group} 中",
        "ex_outside": "    # 模型之外",
        "ex_explained": "    <- 要解释的输出",
        "ex_backward": "反向传播:链式法则,从输出一路回到输入",
        "ex_intro": "  每个运算收到 G = dL/d(它的输出),乘以自己的局部导数,再把 dL/d(输入) "
                    "传给每个输入。反向传播从 dL/d{name} = {seed} 开始",
        "ex_period": "。",
        "ex_intro_sum": "(和 {name}.sum().backward() 一样)。",
        "ex_local": "局部导数:{local}",
        "ex_no_grad": "    没有梯度传到这个运算",
        "ex_used": "    {name} 被用了 {n} 次:{n} 条路径的梯度相加",
        "ex_path": "路径 {k}",
        "ex_constant": "    ({name} 不需要梯度:它没有设置 requires_grad)",
        "ex_leaves": "叶子节点的梯度:{call} 存入 .grad 的值",
        "ex_no_leaf": "  (没有需要梯度的叶子节点)",
        "ex_leaf_used": "  {name} 被用了 {n} 次:各条路径的梯度在 .grad 中相加",
        "ex_path_of": "(第 {k} 条路径,共 {n} 条)",
        "ex_axis": "第 {a} 轴",
        "ex_axes": "第 {a} 轴",
        "ex_summed": "对{what}求和:{frm} -> {to}   ({input} 在前向传播中被广播过)",
        "ex_adds_up": "  (与另一条路径的梯度相加,得到 {input} 的梯度)",
        "ex_adds_up_many": "  (与其他路径的梯度相加,得到 {input} 的梯度)",
    },
}


def check_lang(lang: str, where: str) -> str:
    """``lang`` when chainrule speaks it, else a clear error naming ``where``."""
    if lang not in MESSAGES:
        raise ValueError(f"{where}: lang must be one of {', '.join(LANGS)}, got {lang!r}")
    return lang


def message(key: str, lang: str = "en", **fields: Any) -> str:
    """The message ``key`` in ``lang`` with ``fields`` filled in (English when missing)."""
    text = MESSAGES.get(lang, MESSAGES["en"]).get(key) or MESSAGES["en"][key]
    return text.format(**fields) if fields else text
