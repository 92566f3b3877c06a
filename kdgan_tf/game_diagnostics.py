"""What the players did, per Table 1 cell: is the teacher better than its student before the
game, and does the discriminator leave chance?

Why: a teacher below its student is a broken distillation experiment (CIFAR-10 pairs a
1.76M-parameter CNN student with a 0.27M-parameter ResNet teacher), and KDGAN can only help
when D's loss moves away from 2 ln 2: with w the generators' mass on the true label, D's best
loss is (1 + w) ln(1 + w) - w ln w (losses.discriminator_loss_floor), 2 ln 2 at w = 1.
"""
import math

from kdgan_tf.grid.stats import mean_std as _mean

CHANCE = 2.0 * math.log(2.0)


def diagnostic_fields(record):
  """Per-run fields for runs.csv: pretrained C and T test accuracy, and D's loss, w and floor
  over the last game epoch (None where the method has no such player)."""
  game = record.get("game") or {}
  pretrained = game.get("pretrained") or {}
  last = (game.get("epochs") or [{}])[-1]
  return {"c_pretrained_test": pretrained.get("c_test_accuracy"),
          "t_pretrained_test": pretrained.get("t_test_accuracy"),
          "d_loss_last": last.get("d_loss"), "d_true_mass_last": last.get("d_true_mass"),
          "d_loss_floor_last": last.get("d_loss_floor")}


def _fmt(stats, scale=1.0, digits=4):
  if stats is None:
    return "–"
  mean, std, count = stats
  return f"{scale * mean:.{digits}f} ± {scale * std:.{digits}f} ({count})"


def diagnostic_lines(rows):
  """Two REPORT.md sections: T minus C before the game, and D at the end of the game."""
  cells = {}
  for row in rows:
    cells.setdefault((row["protocol"], row["n"]), []).append(row)
  teacher = ["", "## Teacher minus classifier before the game (test accuracy, points)", "",
             "Pretrained T minus pretrained C, paired by run (runs of methods with both "
             "players); **no** marks a cell whose teacher is not better than its student.", "",
             "| protocol | n | T − C | T better |", "|---|---|---|---|"]
  lines = []
  for (protocol, n), group in sorted(cells.items()):
    diffs = _mean([100 * (r["t_pretrained_test"] - r["c_pretrained_test"]) for r in group
                   if r.get("t_pretrained_test") is not None
                   and r.get("c_pretrained_test") is not None])
    if diffs:
      lines.append(f"| {protocol} | {n:,} | {_fmt(diffs, digits=2)} | "
                   f"{'yes' if diffs[0] > 0 else 'no'} |")
  lines = (teacher + lines) if lines else []
  discriminator = []
  for (protocol, n), group in sorted(cells.items()):
    for method in sorted({r["method"] for r in group if r.get("d_loss_last") is not None}):
      runs = [r for r in group if r["method"] == method]
      discriminator.append(
          f"| {protocol} | {n:,} | {method} | "
          f"{_fmt(_mean([r.get('d_loss_last') for r in runs]))} | "
          f"{_fmt(_mean([r.get('d_true_mass_last') for r in runs]))} | "
          f"{_fmt(_mean([r.get('d_loss_floor_last') for r in runs]))} |")
  if not discriminator:
    return lines
  return lines + ["", "## The discriminator at the end of the game", "",
            f"D's loss, the generators' mass w on the true labels of D's training pairs, and "
            f"D's best achievable loss given w, over the last game epoch (chance: 2 ln 2 = "
            f"{CHANCE:.4f}); mean ± std over runs.", "",
                  "| protocol | n | method | D's loss | w | D's best loss given w |",
                  "|---|---|---|---|---|---|"] + discriminator
