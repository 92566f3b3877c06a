"""Training methods (one module each) sharing one loop (`loop.Runner`). Importing a module
registers its gin configurable, so a gin file can say `run_experiment.method = @MIMIC()`."""
from kdgan_tf.trainers.base import GamePhase, Method, StepContext
from kdgan_tf.trainers.codis import CODIS
from kdgan_tf.trainers.distn import DISTN
from kdgan_tf.trainers.kdgan import KDGAN
from kdgan_tf.trainers.kdgan_wo_gm import KDGANWithoutGM
from kdgan_tf.trainers.mimic import MIMIC
from kdgan_tf.trainers.nagan import NaGAN
from kdgan_tf.trainers.noisy import NOISY
from kdgan_tf.trainers.supervised import SupervisedC, SupervisedT

METHODS = {m.name: m for m in (SupervisedC, SupervisedT, MIMIC, DISTN, NOISY, CODIS, NaGAN,
                               KDGANWithoutGM, KDGAN)}
"""Every method by its name in metrics.json (the order of Table 1)."""
