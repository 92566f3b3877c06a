"""Training methods (one module each) sharing one loop (`loop.Runner`)."""
from kdgan_tf.trainers.base import GamePhase, Method, StepContext
from kdgan_tf.trainers.kdgan import KDGAN
