"""The step shared by the teacher-to-student baselines (MIMIC, DISTN, NOISY): the frozen,
pretrained teacher T is run in inference mode on the same (augmented) batch as the student C,
and C descends on a loss of (labels, its logits, T's logits)."""
import tensorflow as tf

from kdgan_tf.trainers.base import split_seed


def student_step(ctx, loss_fn, student="classifier", teacher="teacher"):
  """Args:
    loss_fn: (labels, student_logits [B, K], teacher_logits [B, K], seed, task) ->
      dict of PER-EXAMPLE [B] terms; "loss" is descended on, every term is logged. The teacher
      reads its own views of the batch (privileged ones included), the student only its own.
  """
  model = ctx.models[student]

  def step(features, labels, seed):
    aug_seed, loss_seed = split_seed(seed, 2)
    x = ctx.augment(features, aug_seed)
    teacher_logits = ctx.call(teacher, x, training=False)
    with tf.GradientTape() as tape:
      logits = model(ctx.inputs(student, x), training=True)
      terms = {k: ctx.mean_over_batch(v)
               for k, v in loss_fn(labels, logits, teacher_logits, loss_seed, ctx.task).items()}
      total = terms["loss"] + ctx.regularization(student)
    ctx.apply(student, tape, total)
    return terms

  return step
