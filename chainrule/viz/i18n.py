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

__all__ = ["LANGS", "MESSAGES", "TRANSLATIONS", "Text", "message", "translate",
           "check_lang"]

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
        "tut_checks": "CHECKS",
        "tut_grads": "  W1.grad and W2.grad after loss.backward(): {verdict}",
        "tut_same": "the same numbers as above",
        "tut_different": "DIFFERENT from the numbers above",
        "tut_hand": "  the tutorial's hand-derived d_W1, d_W2 in NumPy: largest difference {diff}",
        "tut_descent": "ONE STEP OF GRADIENT DESCENT, as in the tutorial (learning_rate = {lr})",
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
        "ex_forward": "前向传播:每个运算按先后顺序,由它的输入算出输出",
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
        "tut_checks": "核对",
        "tut_grads": "  loss.backward() 之后的 W1.grad 和 W2.grad:{verdict}",
        "tut_same": "与上面的数值完全相同",
        "tut_different": "与上面的数值不同",
        "tut_hand": "  原教程用 NumPy 手工推导的 d_W1、d_W2:两者最大相差 {diff}",
        "tut_descent": "一步梯度下降,与原教程相同(learning_rate = {lr})",
    },
}


#: English prose the walkthrough shows that is not one of the messages above: the local
#: derivatives of :data:`chainrule.viz.derivatives.DERIVATIVES` (their prose parts and the
#: templates of what each edge carries back) and the tutorial's notes. Keyed by the English
#: text itself, as gettext does, so the table of derivatives stays in one place; a text with
#: no entry (a formula, or a note of the user's) is shown as it is. Formulas stay formulas.
TRANSLATIONS: dict[str, dict[str, str]] = {
    "zh": {
        # derivatives: the local derivative
        "d max(a, b)/da = [a > b] (1/2 at a tie)": "d max(a, b)/da = [a > b](两者相等时为 1/2)",
        "d max(a, b)/db = [b > a] (1/2 at a tie)": "d max(a, b)/db = [b > a](两者相等时为 1/2)",
        "d min(a, b)/da = [a < b] (1/2 at a tie)": "d min(a, b)/da = [a < b](两者相等时为 1/2)",
        "d min(a, b)/db = [b < a] (1/2 at a tie)": "d min(a, b)/db = [b < a](两者相等时为 1/2)",
        "c is a condition: no gradient": "c 是条件,不传梯度",
        "d relu(x)/dx = 1 where x > 0, else 0": "x > 0 处 d relu(x)/dx = 1,其余处为 0",
        "d cast(x)/dx = 1 (the gradient goes back in x's dtype)":
            "d cast(x)/dx = 1(梯度按 x 的 dtype 传回)",
        "d sum(x)/dx_i = 1: G is copied back over the summed axes":
            "d sum(x)/dx_i = 1:G 沿求和的轴复制回去",
        "d max(x)/dx_i = 1 at the maximum (shared at ties), 0 elsewhere":
            "最大值处 d max(x)/dx_i = 1(有多个最大值时平分),其余处为 0",
        "d prod(x)/dx_i = the product of the other elements": "d prod(x)/dx_i = 其余元素之积",
        "reshape only relabels the elements: G is reshaped back":
            "reshape 只改变元素的排布,不改变数值:把 G reshape 回原来的形状",
        "permute only moves axes: G is permuted back":
            "permute 只调换轴的顺序:把 G 按相反的顺序 permute 回去",
        "each copy of x_i gets a gradient: G is summed over the copies":
            "x_i 的每个副本都得到一份梯度:把 G 在这些副本上求和",
        "the diagonal is a selection: G goes back onto the diagonal, 0 elsewhere":
            "取对角线就是选取元素:G 放回对角线上,其余为 0",
        "diag_embed(g) puts g on a diagonal of zeros: linear, its vjp reads the diagonal of G":
            "diag_embed(g) 把 g 放到全零张量的对角线上,是线性运算:它的 vjp 取出 G 的对角线",
        "an in-place change of a view: the base with the view's elements replaced by v: "
        "d/dbase = 1 outside the view, 0 inside; d/dv = 1 in it":
            "对视图的原地修改:base 中属于视图的元素换成 v。视图外 d/dbase = 1,视图内为 0;"
            "视图内 d/dv = 1",
        "cat puts its inputs side by side: each input gets its slice of G":
            "cat 把输入拼接起来:每个输入取回 G 中属于自己的那一段",
        "d x[index]/dx = 1 at the selected elements, 0 elsewhere":
            "被选中的元素处 d x[index]/dx = 1,其余处为 0",
        "index_add(g) puts g at an index in zeros: linear, its vjp reads G back at the index":
            "index_add(g) 把 g 放到全零张量的索引处,是线性运算:它的 vjp 在同一索引处取出 G",
        "x with v written at an index: d/dx = 1 outside the index, 0 inside; "
        "d/dv = 1 at the index":
            "在 x 的索引处写入 v:索引外 d/dx = 1,索引处为 0;索引处 d/dv = 1",
        "for C = A @ B, ": "对 C = A @ B,",
        "conv2d: dL/dx = conv_transpose(G, w), dL/dw = correlate(x, G), dL/db = G summed "
        "over (N, H, W)":
            "conv2d:dL/dx = conv_transpose(G, w),dL/dw = correlate(x, G),dL/db = G 在 "
            "(N, H, W) 上求和",
        "conv_transpose(g, w) is linear in g and w: d/dg is a convolution, d/dw a correlation":
            "conv_transpose(g, w) 对 g 和 w 都是线性的:d/dg 是一次卷积,d/dw 是一次互相关",
        "correlate(x, g) is linear in x and g: d/dx is a transposed convolution, d/dg a "
        "convolution":
            "correlate(x, g) 对 x 和 g 都是线性的:d/dx 是一次转置卷积,d/dg 是一次卷积",
        "d max/dx = 1 at the winning element of each window, 0 elsewhere":
            "每个窗口中最大的元素处 d max/dx = 1,其余处为 0",
        "linear in g: its vjp gathers G at the same winning elements":
            "对 g 是线性的:它的 vjp 在同样那些最大元素处取出 G",
        "d mean/dx = 1/k for each of the k elements of a window":
            "窗口中 k 个元素的每一个,d mean/dx 都是 1/k",
        "linear in g: its vjp is the average pool of G":
            "对 g 是线性的:它的 vjp 就是对 G 做平均池化",
        "a recurrent layer unrolled over T steps (backpropagation through time): each step's "
        "gradient flows into the previous state, and the weights' gradients are summed over "
        "the steps":
            "循环层沿 T 个时间步展开(随时间反向传播):每一步的梯度流回上一步的状态,"
            "权重的梯度是各时间步梯度之和",
        "y = softmax(x) over the last dim: dL/dx = y (G - sum(G y))":
            "y = softmax(x)(沿最后一维):dL/dx = y (G - sum(G y))",
        "y = (x - mean)/sqrt(var + eps) over the trailing dims: "
        "dL/dx = (G - mean(G) - y mean(G y)) / sqrt(var + eps)":
            "y = (x - mean)/sqrt(var + eps)(沿末尾几维):"
            "dL/dx = (G - mean(G) - y mean(G y)) / sqrt(var + eps)",
        "vjp of {op}": "{op} 的 vjp(表中没有它的局部导数公式)",
        # derivatives: what an edge carries back (templates)
        "{G} copied back to shape {shape}": "把 {G} 复制回形状 {shape}",
        "{G} at the maxima of {a}, 0 elsewhere": "{a} 的最大值处为 {G},其余处为 0",
        "{G} * {out} / {a} (the product of the others)": "{G} * {out} / {a}(即其余元素之积)",
        "{G} reshaped to {shape}": "把 {G} reshape 成 {shape}",
        "{G} permuted back": "把 {G} permute 回去",
        "{G} summed back to shape {shape}": "把 {G} 求和回形状 {shape}",
        "zeros{shape} with {G} on the diagonal": "zeros{shape},对角线上为 {G}",
        "the diagonal of {G}": "{G} 的对角线",
        "{G} with zeros in the view": "{G},视图内的元素置 0",
        "the view of {G}": "{G} 在视图内的部分",
        "the slice of {G} that holds {me}": "{G} 中对应 {me} 的那一段",
        "zeros{shape} with {G} added at the index": "zeros{shape},索引处加上 {G}",
        "{G} at the index": "{G} 在索引处的值",
        "{G} with zeros at the index": "{G},索引处置 0",
        "{G} summed over (N, H, W)": "{G} 在 (N, H, W) 上求和",
        "{G} sent to the maximum of each window": "{G} 传给每个窗口中最大的元素",
        "{G} read at the winning elements": "在最大元素处取出的 {G}",
        "{G} / k spread over each window": "{G} / k,平均分给窗口中的每个元素",
        "dL/d(input gates) of every step, from {G} flowing back in time":
            "每一步的 dL/d(输入门),由 {G} 沿时间反向流回得到",
        "sum over steps of dL/d(hidden gates)^T h_(t-1)": "各时间步的 dL/d(隐藏门)^T h_(t-1) 之和",
        "sum over steps and batch of dL/d(hidden gates)": "各时间步、整个批次的 dL/d(隐藏门) 之和",
        "dL/d(initial state): {G} after flowing back through every step":
            "dL/d(初始状态):{G} 沿时间反向流过每一步之后的值",
        "vjp of {out} applied to {G}": "{out} 的 vjp 作用于 {G}",
        # the tutorial's notes (chainrule.viz.explain.TUTORIAL_NOTES)
        "tutorial: d_output = output - y   (here dL/dt3 = 0.5 * 2 * t3, and t3 = output - y)":
            "原教程:d_output = output - y   (这里 dL/dt3 = 0.5 * 2 * t3,而 t3 = output - y)",
        "tutorial: d_z2 = d_output * output * (1 - output) "
        "= (output - y) * output * (1 - output)":
            "原教程:d_z2 = d_output * output * (1 - output) "
            "= (output - y) * output * (1 - output)",
        "tutorial: d_a1 = np.dot(d_z2, W2.T)": "原教程:d_a1 = np.dot(d_z2, W2.T)",
        "tutorial: d_W2 = np.dot(a1.T, d_z2)": "原教程:d_W2 = np.dot(a1.T, d_z2)",
        "tutorial: d_z1 = d_a1 * a1 * (1 - a1)": "原教程:d_z1 = d_a1 * a1 * (1 - a1)",
        "tutorial: d_W1 = np.dot(X.T, d_z1)": "原教程:d_W1 = np.dot(X.T, d_z1)",
        # the pictures (draw, to_dot, print_graph): what a box is
        "parameter": "参数",
        "input": "输入",
        "constant": "常数",
        "exponent": "指数",
        "base": "底数",
        "factor": "系数",
        "divisor": "除数",
        "numerator": "被除数",
        "offset": "偏移量",
        "target": "目标",
        "mask": "掩码",
        "threshold": "阈值",
        "matrix": "矩阵",
        "index": "索引",
        "(not kept)": "(未保留)",
        "tensor (no graph: nothing requires grad)": "张量(没有计算图:没有张量需要梯度)",
        "{n} parameters": "{n} 个参数",
        "value {v}": "值 {v}",
        "grad {v}": "梯度 {v}",
        "made by backward (second order)": "由反向传播生成(二阶导数)",
        "leaf": "叶子节点",
        "const": "常数",
        "const {shape} {dtype} (no graph: nothing requires grad)":
            "常数 {shape} {dtype}(没有计算图:没有张量需要梯度)",
        # the pictures: the legend
        "legend": "图例",
        "op": "运算",
        "op (rounded box)": "运算(圆角框)",
        "parameter (requires grad)": "参数(需要梯度)",
        "input / constant": "输入 / 常数",
        "module call (collapsed)": "模块调用(折叠成一个框)",
        "output": "输出",
        "module call (box)": "模块调用(外框)",
        "module call (box around its ops)": "模块调用(框住其中的运算)",
        "arrows: data flow (forward)": "箭头:数据流向(前向传播)",
        "edge labels: tensor shape": "边上的标注:张量的形状",
        "red arrow + grad: the gradient the edge carries back": "红色箭头 + 梯度:这条边传回的梯度",
        "(backward runs against the black arrows)": "(反向传播逆着黑色箭头进行)",
        "red line in a box: an op made by backward": "框中的红色文字:由反向传播生成的运算",
        # the pictures: what they cannot show
        "gradients not shown: backward() already freed this graph. Draw it before "
        "backward(), call backward(retain_graph=True), or build it inside "
        "`with cr.viz.record():`, which keeps them":
            "未显示梯度:backward() 已经释放了这个计算图。请在 backward() 之前画图,或调用 "
            "backward(retain_graph=True),或在 `with cr.viz.record():` 中构建计算图(它会保留梯度)",
        "some values not shown: an op keeps only the inputs its backward reads. Build "
        "the graph inside `with cr.viz.record():` to keep every value":
            "部分数值未显示:每个运算只保留反向传播要读的输入。在 `with cr.viz.record():` "
            "中构建计算图,即可保留所有数值",
        # the pictures: a recurrent layer unrolled in time (chainrule.viz.unroll)
        "layer {k}": "第 {k} 层",
        "recurrent layer": "循环层",
        "{layer}, reverse": "{layer},反向",
        "{layer}: unrolled over {T} time steps": "{layer}:沿 {T} 个时间步展开",
        "{cell} step t={n}": "{cell} 时间步 t={n}",
        "{cell} steps t={a}..{b}": "{cell} 时间步 t={a}..{b}",
        "{n} steps not drawn": "省略了 {n} 个时间步",
        "sum over t=1..{T}": "对 t=1..{T} 求和",
        "used at every step: the steps' shares add up": "每个时间步都用到它:各步的贡献相加",
        "the steps' shares: {parts}": "各时间步的贡献:{parts}",
        "the steps' shares (norms): {parts}": "各时间步的贡献(范数):{parts}",
        "stack": "堆叠",
        "the states of steps 1..{T}, in time order": "第 1..{T} 步的状态,按时间顺序排列",
        "{n} states": "{n} 个状态",
        "recurrent layer drawn unrolled without numbers: backward() freed its inputs":
            "循环层已展开,但没有数值:backward() 已释放它的输入",
        # the pictures: a compiled training step (chainrule.compile.show)
        "forward": "前向传播",
        "backward": "反向传播",
        "update": "参数更新",
        "accumulate {name}": "累加到 {name}",
        "{opt} update of group {gi} (flat, {n} elements)":
            "{opt} 更新第 {gi} 组参数(展平,共 {n} 个元素)",
    },
}


class Text(str):
    """English text made by chainrule from a template of :data:`TRANSLATIONS` and its
    fields: a plain ``str`` (the English) that :func:`translate` can put in another language,
    translating the fields that are Texts too and leaving the others (names, numbers,
    formulas) as they are.

    >>> t = Text("{what} {ref}", what=Text("exponent"), ref="2")
    >>> t, translate(t, "zh")
    ('exponent 2', '指数 2')
    """

    template: str
    fields: dict[str, Any]

    def __new__(cls, template: str, **fields: Any) -> Text:
        self = super().__new__(cls, template.format(**fields) if fields else template)
        self.template, self.fields = template, fields
        return self


def check_lang(lang: str, where: str) -> str:
    """``lang`` when chainrule speaks it, else a clear error naming ``where``."""
    if lang not in MESSAGES:
        raise ValueError(f"{where}: lang must be one of {', '.join(LANGS)}, got {lang!r}")
    return lang


def message(key: str, lang: str = "en", **fields: Any) -> str:
    """The message ``key`` in ``lang`` with ``fields`` filled in (English when missing)."""
    text = MESSAGES.get(lang, MESSAGES["en"]).get(key) or MESSAGES["en"][key]
    return text.format(**fields) if fields else text


def translate(text: str, lang: str = "en") -> str:
    """English ``text`` (prose of :data:`TRANSLATIONS`, or a template of it) in ``lang``; the
    text itself when it has no entry (a formula, or a note of the user's).

    >>> translate("{G} permuted back", "zh")
    '把 {G} permute 回去'
    """
    if lang == "en":
        return text
    if isinstance(text, Text):
        fields = {k: translate(v, lang) if isinstance(v, Text) else v
                  for k, v in text.fields.items()}
        template = TRANSLATIONS.get(lang, {}).get(text.template, text.template)
        return template.format(**fields) if fields else template
    return TRANSLATIONS.get(lang, {}).get(text, text)
