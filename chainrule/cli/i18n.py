"""The command line's messages in English and Chinese (``--lang zh``, or a locale whose
LC_ALL / LC_MESSAGES / LANG starts with ``zh``).

The Chinese uses the terms of the tutorial chainrule teaches (《深入理解前向传播、反向传播和
计算图》): 前向传播, 反向传播, 计算图, 链式法则, 权重, 偏置, 激活函数, 损失函数, 均方误差,
梯度, 梯度消失. Each table maps a key to a ``str.format`` template; both tables have the same
keys (tests/cli/test_i18n.py checks it).

>>> tr("en", "chosen_epoch", epoch=27, epochs=30)
'epoch 27 of 30, chosen on the validation split'
>>> tr("zh", "chosen_epoch", epoch=27, epochs=30)
'第 27 轮(共 30 轮),按验证集选出'
"""

from __future__ import annotations

import os
from typing import Any

from ..viz.i18n import LANGS as LANGS  # the languages --lang accepts
from ..viz.i18n import check_lang


MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "summary_title": "{task}: default recipe, {chosen}",
        "chosen_epoch": "epoch {epoch} of {epochs}, chosen on the validation split",
        "last_epoch": "epoch {epoch} of {epochs} (no validation split: the last)",
        "col_train": "train",
        "col_val": "validation",
        "col_test": "test",
        "row_acc": "accuracy",
        "row_loss": "loss*",
        "loss_note": "* loss: the training objective, cross-entropy with label smoothing "
                     "{smoothing} (above 0 even when every answer is right); 'chainrule "
                     "evaluate' reports plain cross-entropy, without smoothing, which is "
                     "lower.",
        "loss_note_plain": "* loss: cross-entropy (no label smoothing), as 'chainrule "
                           "evaluate' reports it.",
        "val_split": "validation: {n_val} examples held out of the {n_train} training "
                     "examples; the test split ({n_test}) chose nothing.",
        "checkpoint_epoch": "the checkpoint holds the last epoch ({epoch}): test accuracy "
                            "{acc:.2f}%, what 'chainrule evaluate' reports.",
        "footer": "{status}{params:,} parameters | {seconds:.1f} s",
        "stopped_early": "stopped early after epoch {epoch}: resume with --resume | ",
        "run_folder": "run folder: [bold]{out}[/] (metrics.json, history.csv, curves.png, "
                      "confusion.png, misclassified.png, checkpoint.safetensors)",
        "evaluate_line": "[bold]{run}[/]: test accuracy [bold]{acc:.2f}%[/] ({right}/{n}), "
                         "cross-entropy {loss:.4f} (without label smoothing{trained})",
        "evaluate_trained": "; training reported it with smoothing {smoothing}",
        "per_class": "per class",
        "digit": "digit",
        "confusion": "confusion matrix (rows: true, columns: predicted)",
        "predict_line": "{path}: [bold]{k}[/] (p={p:.3f})   {ranked}",
        "predict_saw": "{path}: what the model saw ({size}x{size}, after resizing and "
                       "centring; the denser the block, the more ink)",
        "predict_probs": "probability of each digit",
        "predict_png": "wrote {out}",
        "graph_wrote": "wrote {out}: {nodes} nodes, {edges} edges ({what} + cross-entropy, a "
                       "batch of 8 digits; {engine} engine)",
        "tutorial_intro": "The tutorial's program: 64 sigmoid hidden units, sigmoid outputs, "
                          "squared error, lr 0.01, full batch, unscaled randn init.",
        "tutorial_acc": "Test accuracy: [bold]{acc:.2f}%[/] ({seconds:.1f} s)",
        "diag_warnings": "diagnostics: {n} warning{s}",
        "diag_ok": "diagnostics: no problems found ({facts}; medians over steps {a}-{b})",
        "diag_written": "diagnostics written: {files}",
        "run_folder_short": "run folder: [bold]{out}[/]",
        "diag_updates": "update/weight {lo:.1e} to {hi:.1e} per step",
        "diag_grad_ratio": "gradient per weight, first layer / last {r:.2f}",
        "diag_saturated": "{name} saturated {share:.0%}",
        "diag_dead": "{name} dead {share:.0%}",
        "plot_title": "{task}, {model}, seed {seed}",
        "plot_title_tutorial": "{task}, tutorial recipe, seed {seed}",
        "plot_epoch": "epoch",
        "plot_loss": "Loss",
        "plot_loss_y": "loss (the training objective)",
        "plot_acc": "Accuracy (epoch {epoch}: test {acc:.2f}%)",
        "plot_acc_y": "accuracy (%)",
        "plot_chosen": "epoch {epoch}: chosen on validation",
        "plot_last": "epoch {epoch}: the last (no validation split)",
        "plot_confusion": "Confusion matrix (test split)",
        "plot_predicted": "predicted digit",
        "plot_true": "true digit",
        "plot_wrong": "Misclassified test digits ({n} shown): true -> predicted",
        "plot_mse": "mean squared error / 2",
    },
    "zh": {
        "summary_title": "{task}:默认训练方案,{chosen}",
        "chosen_epoch": "第 {epoch} 轮(共 {epochs} 轮),按验证集选出",
        "last_epoch": "第 {epoch} 轮(共 {epochs} 轮;没有验证集,取最后一轮)",
        "col_train": "训练集",
        "col_val": "验证集",
        "col_test": "测试集",
        "row_acc": "准确率",
        "row_loss": "损失*",
        "loss_note": "* 损失:训练时最小化的损失函数,即带标签平滑({smoothing})的交叉熵;"
                     "即使每个样本都答对,它也大于 0。'chainrule evaluate' 报告的是不做标签平滑"
                     "的交叉熵,数值更小。",
        "loss_note_plain": "* 损失:交叉熵(不做标签平滑),与 'chainrule evaluate' 报告的相同。",
        "val_split": "验证集:从 {n_train} 个训练样本中留出 {n_val} 个;测试集({n_test} 个)"
                     "不参与任何选择。",
        "checkpoint_epoch": "检查点保存的是最后一轮(第 {epoch} 轮)的权重:测试集准确率 "
                            "{acc:.2f}%,也就是 'chainrule evaluate' 报告的数字。",
        "footer": "{status}参数 {params:,} 个 | 用时 {seconds:.1f} 秒",
        "stopped_early": "第 {epoch} 轮后提前停止:用 --resume 继续训练 | ",
        "run_folder": "运行目录:[bold]{out}[/](metrics.json、history.csv、curves.png、"
                      "confusion.png、misclassified.png、checkpoint.safetensors)",
        "evaluate_line": "[bold]{run}[/]:测试集准确率 [bold]{acc:.2f}%[/]({right}/{n}),"
                         "交叉熵 {loss:.4f}(不做标签平滑{trained})",
        "evaluate_trained": ";训练时报告的是标签平滑为 {smoothing} 的损失",
        "per_class": "各类别",
        "digit": "数字",
        "confusion": "混淆矩阵(行:真实类别,列:预测类别)",
        "predict_line": "{path}:[bold]{k}[/](p={p:.3f})   {ranked}",
        "predict_saw": "{path}:模型实际看到的图像({size}x{size},已裁剪、缩放并居中;方块越密,"
                       "笔画越浓)",
        "predict_probs": "每个数字的概率",
        "predict_png": "已写入 {out}",
        "graph_wrote": "已写入 {out}:{nodes} 个节点,{edges} 条边({what} + 交叉熵损失,一批 8 个"
                       "数字;{engine} 引擎)",
        "tutorial_intro": "原教程的程序:64 个 sigmoid 隐藏单元,sigmoid 输出,损失函数为均方误差,"
                          "学习率 0.01,全批量训练,权重用未缩放的 randn 初始化。",
        "tutorial_acc": "测试集准确率:[bold]{acc:.2f}%[/](用时 {seconds:.1f} 秒)",
        "diag_warnings": "诊断:{n} 条警告",
        "diag_ok": "诊断:没有发现问题({facts};取第 {a}-{b} 步的中位数)",
        "diag_written": "诊断结果已写入:{files}",
        "run_folder_short": "运行目录:[bold]{out}[/]",
        "diag_updates": "每步的更新量与权重之比 {lo:.1e} 到 {hi:.1e}",
        "diag_grad_ratio": "每个权重的梯度,第一层 / 最后一层 = {r:.2f}",
        "diag_saturated": "{name} 饱和 {share:.0%}",
        "diag_dead": "{name} 死亡单元 {share:.0%}",
        "plot_title": "{task},{model},随机种子 {seed}",
        "plot_title_tutorial": "{task},原教程的训练方案,随机种子 {seed}",
        "plot_epoch": "轮次(epoch)",
        "plot_loss": "损失",
        "plot_loss_y": "损失(训练时最小化的目标)",
        "plot_acc": "准确率(第 {epoch} 轮:测试集 {acc:.2f}%)",
        "plot_acc_y": "准确率(%)",
        "plot_chosen": "第 {epoch} 轮:按验证集选出",
        "plot_last": "第 {epoch} 轮:最后一轮(没有验证集)",
        "plot_confusion": "混淆矩阵(测试集)",
        "plot_predicted": "预测的数字",
        "plot_true": "真实的数字",
        "plot_wrong": "测试集中分错的数字(显示 {n} 个):真实 -> 预测",
        "plot_mse": "均方误差 / 2",
    },
}


def lang_from_env(environ: Any = None) -> str:
    """``zh`` when the locale (LC_ALL, then LC_MESSAGES, then LANG, as gettext reads them)
    is Chinese, else ``en``."""
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def resolve(lang: str | None) -> str:
    """The language to use: ``lang`` when given (``en`` or ``zh``), else the locale's."""
    if lang is None:
        return lang_from_env()
    return check_lang(lang, "--lang")


def tr(lang: str, key: str, **kw: Any) -> str:
    """The message ``key`` in ``lang``, formatted with ``kw``."""
    return MESSAGES[lang][key].format(**kw)


# The zh version of recipes.TUTORIAL_EXPLANATION (the same fields).
TUTORIAL_EXPLANATION_ZH = """\
原教程的训练为什么停滞不前(数字均在本次运行中测得):
  1. 初始化没有缩放。W1 ~ randn(64, 64),输入在 [0, 1] 之间,隐藏层激活前的值 z 的标准差为
     {z1_std:.1f};一开始就有 {sat_init:.0%} 的隐藏 sigmoid 单元 |z| > 4,那里
     sigmoid'(z) = s(1 - s) < 0.018:它们的梯度消失,几乎学不到东西(训练结束时仍有
     {sat_final:.0%} 处于饱和)。
  2. sigmoid 输出配合均方误差。W2 ~ randn(64, 10) 使输出层激活前的值标准差为 {z2_std:.1f}:
     一开始有 {out_init:.0%} 的输出已饱和(结束时 {out_final:.0%})。它们的梯度同样带着
     s(1 - s) 这个因子,所以一个错得很自信的输出几乎得不到梯度,而这恰恰是它最需要修正的
     时候。softmax 加交叉熵可以消掉这个因子。
  3. 每个 epoch 只用全部数据做一步更新(共 {epochs} 步),梯度是求和而不是平均,学习率固定;
     输入没有标准化;偏置从不更新。
默认训练方案的改动:标准化输入;PyTorch 的缩放初始化(Kaiming-uniform);隐藏层用 ReLU;
softmax + 交叉熵(标签平滑 0.1);每批 32 个样本(每个 epoch 更新 36 次);Adam 配合
one-cycle 学习率;偏置参与训练。30 个 epoch 后测试集准确率约为 98.5%
(`chainrule train digits`)。"""
