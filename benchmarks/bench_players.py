"""The players and image shape the epoch benchmarks build per dataset: mnist.gin's (MLP C,
LeNet T and D, 28x28x1) or cifar10.gin's (tutorial CNN C and D, pre-activation ResNet-20 T,
32x32x3). One place, so that epoch_cost.py and epoch_profile.py time the same players."""
from kdgan_tf.models import lenet, mlp_classifier
from kdgan_tf.models.cifar import preact_resnet, tutorial_cnn

DATASETS = ("mnist", "cifar10")


def players(dataset):
  """(image shape, {player: builder}) of `dataset` (one of DATASETS)."""
  if dataset == "mnist":
    return (28, 28, 1), {"classifier": mlp_classifier, "teacher": lenet, "discriminator": lenet}
  if dataset == "cifar10":
    return (32, 32, 3), {"classifier": tutorial_cnn, "teacher": preact_resnet,
                         "discriminator": tutorial_cnn}
  raise ValueError(f"dataset {dataset!r}: choose one of {DATASETS}.")
