"""Loss functions. Every function returns PER-EXAMPLE values (shape [B]); the trainer averages
them over the global batch (`tf.nn.compute_average_loss`) so they are correct under any
`tf.distribute` strategy."""
from kdgan_tf.losses.adversarial import (discriminator_loss, discriminator_loss_floor,
                                         expected_adversarial_value,
                                         generator_adversarial_value, log_one_minus_sigmoid,
                                         log_sigmoid, pair_score, true_label_mass)
from kdgan_tf.losses.distillation import (hinton_distillation, kl_softened, l2_logits,
                                           perturb_logits)
from kdgan_tf.losses.supervised import cross_entropy
